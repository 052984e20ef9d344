//! The signed-in user's own account: their name, their password and the applications they
//! have allowed, each change with what it must revoke and its line in the audit log. Their
//! second factors are in [`super::account_factors`].

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};

use super::session::{EndReason, SignOn, SignedIn};
use crate::accounts::policy::Weak;
use crate::accounts::{self, Check, Credentials, DisplayName, PasswordPolicy, User};
use crate::audit::{self, Event, Kind, Origin};
use crate::database::DbContext;
use crate::mail;
use crate::mfa::{Enrolled, Factors};
use crate::oauth::{Error, Scopes, consent};
use crate::paths;
use crate::sessions::Session;
use crate::settings::Issuer;

/// What the account page lists of the user's audit events (its "recent activity"):
/// sign-ins and sign-outs, password, profile and second-factor changes, applications
/// allowed or removed. Token issuance is left out: an application refreshing every few
/// minutes would push everything else off the list.
const ACCOUNT_ACTIVITY: [Kind; 17] = [
    Kind::LoginSucceeded,
    Kind::LoginFailed,
    Kind::LockoutStarted,
    Kind::Logout,
    Kind::SessionEnded,
    Kind::ConsentGranted,
    Kind::ConsentRevoked,
    Kind::RefreshReuseDetected,
    Kind::UserRegistered,
    Kind::EmailVerified,
    Kind::PasswordResetRequested,
    Kind::PasswordReset,
    Kind::PasswordChanged,
    Kind::ProfileUpdated,
    Kind::MfaEnabled,
    Kind::MfaDisabled,
    Kind::RecoveryCodesRegenerated,
];

#[derive(Clone)]
pub struct Account {
    pub sign_on: SignOn,
    pub policy: PasswordPolicy,
    /// For the links in the notices we mail.
    pub issuer: Issuer,
    pub mailer: crate::mail::Mailer,
    pub factors: Factors,
    /// The name authenticator apps show beside the account (`mfa.totp_issuer`).
    pub totp_issuer: String,
}

/// A password change as the form presents it.
pub struct PasswordChange {
    pub current: SecretString,
    pub new: SecretString,
    pub confirm: SecretString,
}

/// Why a password change was refused; each belongs next to one field of the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordRefused {
    /// The current password is not the user's.
    WrongCurrent,
    /// The new password fails the policy, for this reason.
    Weak(Weak),
    /// The confirmation is not the new password.
    Mismatch,
}

/// An application the user has allowed: their remembered consent.
#[derive(Debug, Clone)]
pub struct AllowedApp {
    pub client_id: String,
    /// The client's name, or its id when the client is gone.
    pub client_name: String,
    pub scopes: Scopes,
    pub granted_at: DateTime<Utc>,
}

/// Everything the account page lists.
pub struct Overview {
    /// Live sessions with their storage ids, newest first.
    pub sessions: Vec<(String, Session)>,
    pub apps: Vec<AllowedApp>,
    pub activity: Vec<audit::Recorded>,
    pub factors: Enrolled,
}

impl Account {
    pub async fn overview(&self, user_id: &str) -> Result<Overview, Error> {
        Ok(Overview {
            sessions: self.sign_on.list(user_id).await?,
            apps: self.apps(user_id).await?,
            activity: audit::recent_for_user(&self.sign_on.db, user_id, &ACCOUNT_ACTIVITY, 20)
                .await?,
            factors: self.factors.enrolled(user_id).await?,
        })
    }

    async fn apps(&self, user_id: &str) -> Result<Vec<AllowedApp>, Error> {
        let db = &self.sign_on.db;
        let mut apps = Vec::new();
        for row in consent::list_for_user(db, user_id).await? {
            let client = self.sign_on.clients.get(db, &row.client_id).await?;
            apps.push(AllowedApp {
                client_name: client.map_or_else(|| row.client_id.clone(), |c| c.name),
                client_id: row.client_id,
                scopes: Scopes::parse(&row.scopes).unwrap_or_default(),
                granted_at: row.granted_at,
            });
        }
        Ok(apps)
    }

    /// Renames the user; an unchanged name writes (and records) nothing.
    #[tracing::instrument(skip_all)]
    pub async fn rename(
        &self,
        me: &SignedIn,
        name: &DisplayName,
        origin: &Origin,
    ) -> Result<(), Error> {
        if name.as_str() == me.user.name {
            return Ok(());
        }
        let now = self.sign_on.clock.now();
        accounts::store::set_name(&self.sign_on.db, &me.user.id, name.as_str(), now).await?;
        let event = Event::new(Kind::ProfileUpdated).user(&me.user.id);
        self.sign_on
            .audit
            .record(origin, event.with("field", "name"));
        Ok(())
    }

    /// Changes the password of the signed-in user, who must know the current one. Every
    /// other session ends and every refresh family of the user is revoked — those issued in
    /// this browser's session too, since a password change is what a user does when they
    /// fear someone else holds their tokens, and applications can get new ones by signing in
    /// again; then the new hash and the notice mail commit together. This browser stays
    /// signed in. Nothing to tell `UserStatus`: whether the user may be issued tokens has
    /// not changed (and PostgreSQL's update trigger announces the row change anyway).
    #[tracing::instrument(skip_all)]
    pub async fn change_password(
        &self,
        me: &SignedIn,
        change: &PasswordChange,
        origin: &Origin,
    ) -> Result<Result<(), PasswordRefused>, Error> {
        let user = &me.user;
        let new = change.new.expose_secret();
        if let Err(weak) = self.policy.check(new, &[&user.email, &user.name]) {
            return Ok(Err(PasswordRefused::Weak(weak)));
        }
        if new != change.confirm.expose_secret() {
            return Ok(Err(PasswordRefused::Mismatch));
        }
        let during = "password_change";
        if !self
            .knows_password(user, &change.current, origin, during)
            .await?
        {
            return Ok(Err(PasswordRefused::WrongCurrent));
        }
        let hash = self.sign_on.passwords.hash(&change.new).await?;
        // Sessions and tokens end first: should that fail, nothing changed and the form can
        // be sent again; should storing the password fail after it, the user's other
        // sessions are over with the password unchanged, which is harmless.
        let (keep, reason) = (Some(me.session_id.as_str()), EndReason::PasswordChanged);
        let sign_on = &self.sign_on;
        let ended = sign_on
            .end_user_sessions(&user.id, keep, origin, reason)
            .await?;
        sign_on.revoke_user_families(&user.id, None).await?;
        self.store_password(user, hash, origin).await?;
        let event = Event::new(Kind::PasswordChanged).user(&user.id);
        sign_on
            .audit
            .record(origin, event.with("sessions_ended", ended));
        Ok(Ok(()))
    }

    /// Checks the current password as a sign-in does: an address that has spent its
    /// failures is refused (429), and a wrong password spends one of them, so a stolen
    /// session cannot be used to guess the password at leisure. `during` names the change
    /// in the audit log.
    pub(super) async fn knows_password(
        &self,
        user: &User,
        password: &SecretString,
        origin: &Origin,
        during: &'static str,
    ) -> Result<bool, Error> {
        let sign_on = &self.sign_on;
        sign_on.throttle.sign_in_attempt(origin).await?;
        let credentials = Credentials {
            email: user.email.clone(),
            password: password.clone(),
        };
        let checked =
            accounts::check_password(&sign_on.db, &sign_on.passwords, &credentials, Check::Verify);
        let rejected = match checked.await? {
            Ok(found) if found.id == user.id => return Ok(true),
            Ok(_) => "another_user",
            Err(rejected) => rejected.reason(),
        };
        sign_on.throttle.sign_in_failed(origin).await?;
        let failed = Event::new(Kind::LoginFailed)
            .user(&user.id)
            .with("reason", rejected)
            .with("during", during);
        sign_on.audit.record(origin, failed);
        Ok(false)
    }

    /// The new hash and the notice, in one transaction.
    async fn store_password(
        &self,
        user: &User,
        hash: String,
        origin: &Origin,
    ) -> Result<(), Error> {
        let now = self.sign_on.clock.now();
        let forgot = self.issuer.endpoint(paths::PASSWORD_FORGOT);
        let changed = mail::messages::Changed {
            how: "changed",
            ip: &origin.ip,
            now,
        };
        let message =
            mail::messages::password_changed(&user.email, changed, &forgot).to(&user.email)?;
        let txn = crate::database::begin_write(&self.sign_on.db)
            .await
            .db_context("starting a transaction")?;
        if !accounts::store::set_password(&txn, &user.id, hash, now).await? {
            return Err(Error::Unexpected(anyhow::anyhow!("the user has gone")));
        }
        mail::enqueue(&txn, &message, now).await?;
        txn.commit()
            .await
            .db_context("committing a password change")?;
        self.mailer.wake();
        Ok(())
    }

    /// Takes back an application's access: its refresh tokens (and their access tokens) are
    /// revoked, and its remembered consent forgotten, so it must ask again. Tokens first:
    /// should the store fail, the application is still listed and the user can try again.
    /// `false` when the user had not allowed that client.
    #[tracing::instrument(skip_all, fields(client_id = %client_id))]
    pub async fn revoke_app(
        &self,
        user_id: &str,
        client_id: &str,
        origin: &Origin,
    ) -> Result<bool, Error> {
        let sign_on = &self.sign_on;
        sign_on
            .revoke_user_families(user_id, Some(client_id))
            .await?;
        if !consent::forget(&sign_on.db, user_id, client_id).await? {
            return Ok(false);
        }
        let event = Event::new(Kind::ConsentRevoked).user(user_id);
        sign_on.audit.record(origin, event.client(client_id));
        Ok(true)
    }
}
