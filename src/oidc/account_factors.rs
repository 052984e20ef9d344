//! The signed-in user's second factors: what they have, setting up an authenticator app
//! (which raises this browser's session to two factors, so that a request waiting for one
//! can go on), new recovery codes, codes by email, and turning factors off. Removing a
//! factor or making new codes asks for the password again: a browser left signed in must not
//! be enough to weaken the account or to read codes that sign in. Each change has its line
//! in the audit log, never with a secret or a code.

use secrecy::SecretString;

use super::account::Account;
use super::session::{Method, SignedIn};
use crate::accounts::User;
use crate::audit::{Event, Kind, Origin};
use crate::mfa::Enrolled;
use crate::mfa::totp::TotpSecret;
use crate::oauth::Error;

/// What the audit log records of the password checks made here (`login_failed`'s `during`).
const DURING: &str = "mfa_change";

/// The user's second factors, as their page shows them.
pub struct FactorStatus {
    pub enrolled: Enrolled,
    /// An authenticator app being set up (begun, no code typed yet).
    pub pending: Option<Enrolment>,
}

/// An authenticator app being set up: the secret, and the `otpauth://` URI its QR code holds.
pub struct Enrolment {
    pub secret: TotpSecret,
    pub uri: String,
}

/// An authenticator app set up: the recovery codes, to be shown once, and the browser's new
/// session cookie, which now counts two factors.
pub struct TotpEnabled {
    pub recovery_codes: Vec<String>,
    pub cookie: String,
}

/// Why a change was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorRefused {
    /// The password given is not the user's.
    WrongPassword,
    /// Codes by email go only to an address the user has shown is theirs.
    EmailUnverified,
    /// There is no authenticator app to remove or to make codes for.
    NoAuthenticator,
}

impl Account {
    /// The user's factors, and the enrolment waiting for its first code, if any.
    pub async fn factor_status(&self, user: &User) -> Result<FactorStatus, Error> {
        let enrolled = self.factors.enrolled(&user.id).await?;
        let pending = self.factors.pending_totp(&user.id).await?;
        let pending = pending.map(|secret| Enrolment {
            uri: secret.otpauth_uri(&self.totp_issuer, &user.email),
            secret,
        });
        Ok(FactorStatus { enrolled, pending })
    }

    /// Starts (or starts again, with a new secret) setting up an authenticator app; `false`
    /// when one is set up already.
    #[tracing::instrument(skip_all)]
    pub async fn begin_totp(&self, user_id: &str) -> Result<bool, Error> {
        Ok(self.factors.begin_totp(user_id).await?.is_some())
    }

    /// Finishes setting up the authenticator app with its first code, and raises this
    /// browser's session (`cookie`) to two factors: the user has just shown both. `None`
    /// for a wrong or used code, or when no setup is waiting.
    #[tracing::instrument(skip_all)]
    pub async fn confirm_totp(
        &self,
        me: &SignedIn,
        cookie: &str,
        code: &str,
        origin: &Origin,
    ) -> Result<Option<TotpEnabled>, Error> {
        let user_id = &me.user.id;
        let Some(recovery_codes) = self.factors.confirm_totp(user_id, code).await? else {
            return Ok(None);
        };
        let event = Event::new(Kind::MfaEnabled).user(user_id);
        self.sign_on
            .audit
            .record(origin, event.with("method", "totp"));
        let how = Method::PasswordAndTotp;
        let cookie = self.sign_on.step_up(cookie, user_id, how, origin).await?;
        Ok(Some(TotpEnabled {
            recovery_codes,
            cookie,
        }))
    }

    /// New recovery codes in place of the old ones (which stop working), for a user with an
    /// authenticator app who gives their password.
    #[tracing::instrument(skip_all)]
    pub async fn regenerate_codes(
        &self,
        me: &SignedIn,
        password: &SecretString,
        origin: &Origin,
    ) -> Result<Result<Vec<String>, FactorRefused>, Error> {
        if let Err(refused) = self.may_change_totp(me, password, origin).await? {
            return Ok(Err(refused));
        }
        let codes = self.factors.regenerate_codes(&me.user.id).await?;
        let event = Event::new(Kind::RecoveryCodesRegenerated).user(&me.user.id);
        self.sign_on.audit.record(origin, event);
        Ok(Ok(codes))
    }

    /// Removes the authenticator app and its recovery codes, given the password.
    #[tracing::instrument(skip_all)]
    pub async fn remove_totp(
        &self,
        me: &SignedIn,
        password: &SecretString,
        origin: &Origin,
    ) -> Result<Result<(), FactorRefused>, Error> {
        if let Err(refused) = self.may_change_totp(me, password, origin).await? {
            return Ok(Err(refused));
        }
        self.factors.remove(&me.user.id).await?;
        let event = Event::new(Kind::MfaDisabled).user(&me.user.id);
        self.sign_on
            .audit
            .record(origin, event.with("method", "totp"));
        Ok(Ok(()))
    }

    /// Turns codes by email on, for a verified address (no password: it makes signing in
    /// harder, not easier). Recorded only when it changed anything.
    #[tracing::instrument(skip_all)]
    pub async fn email_codes_on(
        &self,
        me: &SignedIn,
        origin: &Origin,
    ) -> Result<Result<(), FactorRefused>, Error> {
        if !me.user.email_verified {
            return Ok(Err(FactorRefused::EmailUnverified));
        }
        if self.factors.set_email_codes(&me.user.id, true).await? {
            let event = Event::new(Kind::MfaEnabled).user(&me.user.id);
            self.sign_on
                .audit
                .record(origin, event.with("method", "email"));
        }
        Ok(Ok(()))
    }

    /// Turns codes by email off, given the password.
    #[tracing::instrument(skip_all)]
    pub async fn email_codes_off(
        &self,
        me: &SignedIn,
        password: &SecretString,
        origin: &Origin,
    ) -> Result<Result<(), FactorRefused>, Error> {
        if !self
            .knows_password(&me.user, password, origin, DURING)
            .await?
        {
            return Ok(Err(FactorRefused::WrongPassword));
        }
        if self.factors.set_email_codes(&me.user.id, false).await? {
            let event = Event::new(Kind::MfaDisabled).user(&me.user.id);
            self.sign_on
                .audit
                .record(origin, event.with("method", "email"));
        }
        Ok(Ok(()))
    }

    /// An authenticator app to change, and the user's password to change it with (checked
    /// last, so that a refusal for another reason spends none of the sign-in failures).
    async fn may_change_totp(
        &self,
        me: &SignedIn,
        password: &SecretString,
        origin: &Origin,
    ) -> Result<Result<(), FactorRefused>, Error> {
        if !self.factors.has_totp(&me.user.id).await? {
            return Ok(Err(FactorRefused::NoAuthenticator));
        }
        if !self
            .knows_password(&me.user, password, origin, DURING)
            .await?
        {
            return Ok(Err(FactorRefused::WrongPassword));
        }
        Ok(Ok(()))
    }
}
