//! What people do for themselves, without an operator: create an account, prove their
//! email address, and recover a forgotten password. Every answer is the same whether or
//! not an account exists for the address (no account enumeration); what differs goes by
//! mail, to the address's owner. Each mail is queued in the transaction of the change it
//! reports, so neither is ever without the other.

pub mod messages;
pub mod reset;
pub mod tokens;

use std::time::Duration;

use sea_orm::DatabaseConnection;
use secrecy::SecretString;

use crate::accounts::{self, DisplayName, Email, PasswordPolicy, Passwords, User, store::NewUser};
use crate::audit::{Audit, Event, Kind, Origin};
use crate::clock::SharedClock;
use crate::database::DbContext;
use crate::limits::{Lockout, Throttle};
use crate::mail::{self, Mailer};
use crate::oauth::Error;
use crate::oidc::session::SignOn;
use crate::random;
use crate::settings::Issuer;
use tokens::{Holder, Purpose};

#[derive(Clone)]
pub struct SelfService {
    pub db: DatabaseConnection,
    pub passwords: Passwords,
    pub policy: PasswordPolicy,
    pub throttle: Throttle,
    pub lockout: Lockout,
    pub audit: Audit,
    pub sign_on: SignOn,
    pub mailer: Mailer,
    pub issuer: Issuer,
    pub clock: SharedClock,
    pub signup_enabled: bool,
    pub verification_ttl: Duration,
    pub reset_ttl: Duration,
}

/// A registration form as submitted.
pub struct Registration {
    pub email: String,
    pub name: String,
    pub password: SecretString,
    /// The pending authorization request it started from, to return to once verified.
    pub return_request: Option<String>,
}

/// What is wrong with a form, field by field, in words shown next to the field.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors {
    pub email: Option<String>,
    pub name: Option<String>,
    pub password: Option<String>,
    pub confirm: Option<String>,
}

impl FieldErrors {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The answer to a registration: the same "check your mail" whether or not the address
/// already had an account, or the form again with its errors.
pub enum Registered {
    CheckMail(Email),
    Invalid(FieldErrors),
}

/// A verification link used: where to go next.
pub struct Verified {
    pub return_request: Option<String>,
}

impl SelfService {
    /// Creates the account (unverified) and mails the verification link; for an address
    /// that has an account, mails its owner instead. The password is hashed either way,
    /// so the time taken does not tell the two apart.
    pub async fn register(&self, form: Registration, origin: &Origin) -> Result<Registered, Error> {
        self.throttle.signup(origin).await?;
        let (email, name) = match self.check_registration(&form) {
            Ok(valid) => valid,
            Err(errors) => return Ok(Registered::Invalid(errors)),
        };
        let password_hash = self.passwords.hash(&form.password).await?;
        let may_mail = self.may_mail(origin, &email).await?;
        let now = self.clock.now();
        let txn = crate::database::begin_write(&self.db)
            .await
            .db_context("starting a registration")?;
        let new = NewUser {
            email: &email,
            name: name.as_str(),
            password_hash,
            email_verified: false,
        };
        match accounts::store::insert_new(&txn, new, now).await? {
            Some(user_id) => {
                let holder = Holder {
                    user_id: user_id.clone(),
                    email: email.as_str().to_owned(),
                    return_request: form.return_request,
                };
                self.queue_verification(&txn, &holder, name.as_str(), may_mail)
                    .await?;
                txn.commit().await.db_context("committing a registration")?;
                self.audit
                    .record(origin, Event::new(Kind::UserRegistered).user(user_id));
            }
            None => {
                if may_mail {
                    let forgot = self.issuer.endpoint(crate::paths::PASSWORD_FORGOT);
                    let notice = messages::registration_attempt(&forgot);
                    mail::enqueue(&txn, &notice.to(email.as_str())?, now).await?;
                }
                txn.commit().await.db_context("committing a registration")?;
            }
        }
        self.mailer.wake();
        Ok(Registered::CheckMail(email))
    }

    fn check_registration(&self, form: &Registration) -> Result<(Email, DisplayName), FieldErrors> {
        let mut errors = FieldErrors::default();
        let email = Email::parse(&form.email);
        if email.is_none() {
            errors.email = Some("Enter a valid email address.".into());
        }
        let name = DisplayName::parse(&form.name);
        if let Err(bad) = &name {
            errors.name = Some(bad.message().into());
        }
        let context = [form.email.as_str(), form.name.as_str()];
        if let Err(weak) = self.check_password(&form.password, &context) {
            errors.password = Some(weak);
        }
        match (email, name) {
            (Some(email), Ok(name)) if errors.is_empty() => Ok((email, name)),
            _ => Err(errors),
        }
    }

    /// The policy's verdict on a new password, in words.
    pub fn check_password(&self, password: &SecretString, context: &[&str]) -> Result<(), String> {
        use secrecy::ExposeSecret;
        self.policy
            .check(password.expose_secret(), context)
            .map_err(|weak| weak.0)
    }

    /// Whether one more account mail may go to `email` (see `Throttle::mail_to`).
    async fn may_mail(&self, origin: &Origin, email: &Email) -> Result<bool, Error> {
        let address = random::digest(email.as_str());
        Ok(self.throttle.mail_to(origin, &address).await?)
    }

    /// Stores a verification link and queues its mail, in `txn`.
    async fn queue_verification<C: sea_orm::ConnectionTrait>(
        &self,
        txn: &C,
        holder: &Holder,
        name: &str,
        may_mail: bool,
    ) -> Result<(), Error> {
        if !may_mail {
            return Ok(());
        }
        let now = self.clock.now();
        let ttl = self.verification_ttl;
        let token = tokens::issue(txn, Purpose::VerifyEmail, holder, now, ttl).await?;
        let url = self.link(crate::paths::VERIFY_EMAIL, &token);
        let notice = messages::verify_email(name, &url, ttl);
        mail::enqueue(txn, &notice.to(&holder.email)?, now).await?;
        Ok(())
    }

    fn link(&self, path: &str, token: &str) -> String {
        format!("{}?token={token}", self.issuer.endpoint(path))
    }

    /// Sends a new verification link to a signed-in user whose email is unverified.
    pub async fn resend_for(
        &self,
        user: &User,
        return_request: Option<String>,
        origin: &Origin,
    ) -> Result<(), Error> {
        self.throttle.recovery(origin).await?;
        self.queue_resend(user, return_request, origin).await
    }

    async fn queue_resend(
        &self,
        user: &User,
        return_request: Option<String>,
        origin: &Origin,
    ) -> Result<(), Error> {
        let Some(email) = Email::parse(&user.email) else {
            return Ok(());
        };
        if user.email_verified || user.disabled || !self.may_mail(origin, &email).await? {
            return Ok(());
        }
        let holder = Holder {
            user_id: user.id.clone(),
            email: user.email.clone(),
            return_request,
        };
        let txn = crate::database::begin_write(&self.db)
            .await
            .db_context("starting a resend")?;
        self.queue_verification(&txn, &holder, &user.name, true)
            .await?;
        txn.commit().await.db_context("committing a resend")?;
        self.mailer.wake();
        Ok(())
    }

    /// The "check your mail" page's resend: for whoever owns `email`, if unverified. The
    /// answer is the same otherwise, and comes before the lookup (done in the background),
    /// so its time tells nothing either.
    pub async fn resend_to(
        &self,
        email: &str,
        return_request: Option<String>,
        origin: &Origin,
    ) -> Result<(), Error> {
        self.throttle.recovery(origin).await?;
        let Some(email) = Email::parse(email) else {
            return Ok(());
        };
        let (this, origin) = (self.clone(), origin.clone());
        tokio::spawn(async move {
            let found = accounts::store::find_by_email(&this.db, &email).await;
            let sent = match found {
                Ok(Some(user)) => this.queue_resend(&user, return_request, &origin).await,
                Ok(None) => Ok(()),
                Err(e) => Err(e.into()),
            };
            if let Err(e) = sent {
                tracing::warn!(error = %e, "could not queue a verification link");
            }
        });
        Ok(())
    }

    /// Whether a verification link is live (the page that asks to confirm it).
    pub async fn verification_live(&self, token: &str) -> Result<bool, Error> {
        let now = self.clock.now();
        let holder = tokens::peek(&self.db, Purpose::VerifyEmail, token, now).await?;
        Ok(holder.is_some())
    }

    /// Uses a verification link: the address it was sent to is verified, if it is still
    /// the account's. `None` when the link is unknown, used or expired.
    pub async fn verify(&self, token: &str, origin: &Origin) -> Result<Option<Verified>, Error> {
        let now = self.clock.now();
        let txn = crate::database::begin_write(&self.db)
            .await
            .db_context("starting a verification")?;
        let Some(holder) = tokens::redeem(&txn, Purpose::VerifyEmail, token, now).await? else {
            return Ok(None);
        };
        let marked =
            accounts::store::mark_email_verified(&txn, &holder.user_id, &holder.email, now).await?;
        txn.commit().await.db_context("committing a verification")?;
        if marked {
            let event = Event::new(Kind::EmailVerified).user(&holder.user_id);
            self.audit.record(origin, event);
        }
        Ok(marked.then_some(Verified {
            return_request: holder.return_request,
        }))
    }
}
