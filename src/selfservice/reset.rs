//! Password reset: a mailed single-use link, then a new password under the same policy. A
//! reset ends every session of the account and revokes its refresh-token families (whoever
//! knew the old password is out), clears a brute-force lockout, and tells the owner by mail.

use secrecy::SecretString;

use super::tokens::{self, Holder, Purpose};
use super::{FieldErrors, SelfService, messages};
use crate::accounts::{self, Email};
use crate::audit::{Event, Kind, Origin};
use crate::database::DbContext;
use crate::limits::lockout;
use crate::mail;
use crate::oauth::Error;
use crate::oidc::session::EndReason;

/// A reset form as submitted.
pub struct NewPassword {
    pub token: String,
    pub password: SecretString,
    pub confirm: SecretString,
}

pub enum ResetOutcome {
    Done,
    Invalid(FieldErrors),
    /// The link is unknown, used or expired.
    Expired,
}

impl SelfService {
    /// Asks for a reset link for `email`. The answer is the same whether or not it has an
    /// account, and comes back before the lookup is made: the work (and its time) happens
    /// in the background. `Err` only for a malformed address or an over-spent budget.
    pub async fn forgot(&self, email: &str, origin: &Origin) -> Result<Result<(), String>, Error> {
        let Some(email) = Email::parse(email) else {
            return Ok(Err("Enter a valid email address.".into()));
        };
        self.throttle.recovery(origin).await?;
        let this = self.clone();
        let origin = origin.clone();
        tokio::spawn(async move {
            if let Err(e) = this.send_reset_link(&email, &origin).await {
                tracing::warn!(error = format!("{e:#}"), "could not queue a reset link");
            }
        });
        Ok(Ok(()))
    }

    async fn send_reset_link(&self, email: &Email, origin: &Origin) -> Result<(), Error> {
        if !self.may_mail(origin, email).await? {
            return Ok(());
        }
        let Some(user) = accounts::store::find_by_email(&self.db, email).await? else {
            return Ok(());
        };
        if user.disabled {
            return Ok(());
        }
        let holder = Holder {
            user_id: user.id.clone(),
            email: user.email.clone(),
            return_request: None,
        };
        let now = self.clock.now();
        let txn = crate::database::begin_write(&self.db)
            .await
            .db_context("starting a reset request")?;
        let token =
            tokens::issue(&txn, Purpose::ResetPassword, &holder, now, self.reset_ttl).await?;
        let url = self.link(crate::paths::PASSWORD_RESET, &token);
        let notice = messages::reset_password(&url, self.reset_ttl);
        mail::enqueue(&txn, &notice.to(&user.email)?, now).await?;
        txn.commit()
            .await
            .db_context("committing a reset request")?;
        let event = Event::new(Kind::PasswordResetRequested).user(&user.id);
        self.audit.record(origin, event);
        Ok(())
    }

    /// Whether a reset link is live (the page with the new-password form).
    pub async fn reset_live(&self, token: &str) -> Result<bool, Error> {
        let now = self.clock.now();
        let holder = tokens::peek(&self.db, Purpose::ResetPassword, token, now).await?;
        Ok(holder.is_some())
    }

    /// Sets the new password through a live link, and then ends what the old one allowed.
    pub async fn reset(&self, form: NewPassword, origin: &Origin) -> Result<ResetOutcome, Error> {
        let now = self.clock.now();
        let peeked = tokens::peek(&self.db, Purpose::ResetPassword, &form.token, now).await?;
        let Some(holder) = peeked else {
            return Ok(ResetOutcome::Expired);
        };
        let Some(user) = accounts::store::find_by_id(&self.db, &holder.user_id).await? else {
            return Ok(ResetOutcome::Expired);
        };
        let errors = self.check_new_password(&form, &[&user.email, &user.name]);
        if !errors.is_empty() {
            return Ok(ResetOutcome::Invalid(errors));
        }
        let password_hash = self.passwords.hash(&form.password).await?;
        // What the old password allowed ends first: should that fail, the link still works
        // and the reset can be tried again; should the commit below fail, the owner is
        // signed out everywhere with the password unchanged, which is harmless.
        self.end_everything(&user.id, &user.email, origin).await?;
        let txn = crate::database::begin_write(&self.db)
            .await
            .db_context("starting a reset")?;
        if tokens::redeem(&txn, Purpose::ResetPassword, &form.token, now)
            .await?
            .is_none()
        {
            return Ok(ResetOutcome::Expired);
        }
        tokens::retire_all(&txn, Purpose::ResetPassword, &user.id, now).await?;
        accounts::store::set_password(&txn, &user.id, password_hash, now).await?;
        // The link reached the address: it is the owner's.
        accounts::store::mark_email_verified(&txn, &user.id, &holder.email, now).await?;
        let forgot = self.issuer.endpoint(crate::paths::PASSWORD_FORGOT);
        let changed = mail::messages::Changed {
            how: "reset",
            ip: &origin.ip,
            now,
        };
        let notice = mail::messages::password_changed(&user.email, changed, &forgot);
        mail::enqueue(&txn, &notice.to(&user.email)?, now).await?;
        txn.commit().await.db_context("committing a reset")?;
        self.mailer.wake();
        let event = Event::new(Kind::PasswordReset).user(&user.id);
        self.audit.record(origin, event);
        Ok(ResetOutcome::Done)
    }

    /// The policy on the new password, and that the confirmation matches.
    pub fn check_new_password(&self, form: &NewPassword, context: &[&str]) -> FieldErrors {
        use secrecy::ExposeSecret;
        let mut errors = FieldErrors::default();
        if let Err(weak) = self.check_password(&form.password, context) {
            errors.password = Some(weak);
        } else if form.password.expose_secret() != form.confirm.expose_secret() {
            errors.confirm = Some("The two passwords differ.".into());
        }
        errors
    }

    /// Every session and refresh family of the account, and its lockout.
    async fn end_everything(
        &self,
        user_id: &str,
        email: &str,
        origin: &Origin,
    ) -> Result<(), Error> {
        let reason = EndReason::PasswordReset;
        self.sign_on
            .end_user_sessions(user_id, None, origin, reason)
            .await?;
        self.sign_on.revoke_user_families(user_id, None).await?;
        let account = lockout::account_of(email);
        self.lockout.succeeded(&account).await?;
        Ok(())
    }
}
