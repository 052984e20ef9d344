//! The OP's browser sessions (OIDC Core §3.1.2.3): signing a user in with a password, who is
//! signed in, and ending a session everywhere: its refresh-token families, and a
//! back-channel logout to every client that received tokens in it.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;

use super::backchannel::{Logout, Notifier};
pub use super::ended::EndReason;
use super::method::Proof;
pub use super::method::{Method, PasswordPassed, PasswordSignIn};
use crate::accounts::{self, Check, Credentials, Passwords, Rejected, User};
use crate::audit::{Audit, Event, Kind, Origin};
use crate::clients::ClientCache;
use crate::clock::SharedClock;
use crate::limits::{Lockout, Throttle, lockout};
use crate::metrics::{ActiveSessions, LoginOutcome, Metrics};
use crate::oauth::{Error, refresh};
use crate::sessions::{self, Device, LoginContext, Session};
use crate::store::Store;

/// A signed-in browser: the user, their session, and the session's storage id.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: User,
    pub session: Session,
    pub session_id: String,
}

#[derive(Clone)]
pub struct SignOn {
    pub db: DatabaseConnection,
    pub store: Store,
    pub clients: Arc<ClientCache>,
    pub passwords: Passwords,
    pub throttle: Throttle,
    pub lockout: Lockout,
    pub audit: Audit,
    pub notifier: Notifier,
    pub clock: SharedClock,
    pub session_ttl: Duration,
    /// How long a revoked family must stay known (the longest a refresh token can live).
    pub family_ttl: Duration,
    pub metrics: Metrics,
    pub sessions: ActiveSessions,
}

impl SignOn {
    /// The signed-in user behind a session cookie, if the session and the user still exist
    /// and the user is enabled (one disabled from the CLI may still have a session).
    pub async fn current(&self, cookie: Option<&str>) -> Result<Option<SignedIn>, Error> {
        let Some((session_id, session)) = self.session(cookie).await? else {
            return Ok(None);
        };
        let user = accounts::store::find_by_id(&self.db, &session.user_id)
            .await?
            .filter(|user| !user.disabled);
        Ok(user.map(|user| SignedIn {
            user,
            session,
            session_id,
        }))
    }

    /// The live session behind a cookie, with its storage id.
    pub async fn session(&self, cookie: Option<&str>) -> Result<Option<(String, Session)>, Error> {
        let Some(cookie) = cookie else {
            return Ok(None);
        };
        let found = sessions::find(self.store.as_ref(), cookie, self.clock.now()).await?;
        Ok(found.map(|s| (sessions::id_of(cookie), s)))
    }

    /// Checks the password; the session starts only once [`complete`](Self::complete) is
    /// called (at once, or after a second factor). `None` for a wrong email or password or
    /// a locked account, in the same time and with the same answer whichever it was.
    /// Refused (429) once the address has spent its attempts or failures.
    pub async fn check_password(
        &self,
        device_token: Option<&str>,
        credentials: &Credentials,
        origin: &Origin,
    ) -> Result<Option<PasswordPassed>, Error> {
        self.throttle.sign_in_attempt(origin).await?;
        let email = lockout::account_of(&credentials.lookup());
        let account = self.lockout.subject(&email, device_token);
        let check = match self.lockout.is_locked(&account).await? {
            true => Check::Refuse,
            false => Check::Verify,
        };
        let checked = accounts::check_password(&self.db, &self.passwords, credentials, check);
        match checked.await? {
            Ok(user) => Ok(Some(PasswordPassed {
                user_id: user.id,
                upstream: None,
                account: email,
                lockout_subject: account,
            })),
            Err(rejected) => {
                self.refused(&account, &rejected, origin).await?;
                Ok(None)
            }
        }
    }

    /// The password standing of a signed-in user (whose session proved it), for a step-up:
    /// its wrong codes count toward the account's lockout.
    pub fn passed_for(&self, user_id: &str, email: &str) -> PasswordPassed {
        let account = lockout::account_of(email);
        PasswordPassed {
            user_id: user_id.to_owned(),
            upstream: None,
            lockout_subject: self.lockout.subject(&account, None),
            account,
        }
    }

    /// Starts the session of a user whose sign-in passed (`how`), in place of the
    /// browser's `previous` one; clears the account's failures and hands out a device token.
    pub async fn complete(
        &self,
        previous: Option<&str>,
        passed: &PasswordPassed,
        how: Method,
        origin: &Origin,
    ) -> Result<PasswordSignIn, Error> {
        self.lockout.succeeded(&passed.lockout_subject).await?;
        let proof = Proof::of(passed, how);
        let cookie = self
            .sign_in(previous, &passed.user_id, &proof, origin)
            .await?;
        let mut event = Event::new(Kind::LoginSucceeded)
            .user(&passed.user_id)
            .with("method", how.as_str());
        if let Some(idp) = &proof.idp {
            event = event.with("idp", idp.as_str());
        }
        self.audit.record(origin, event);
        self.metrics.login(LoginOutcome::Success);
        Ok(PasswordSignIn {
            cookie,
            user_id: passed.user_id.clone(),
            device_token: self.lockout.device_token(&passed.account),
        })
    }

    /// A wrong second-factor code: it counts toward the account's lockout like a wrong
    /// password (a stranger who has the password still has only so many guesses).
    pub async fn factor_failed(
        &self,
        passed: &PasswordPassed,
        reason: &'static str,
        origin: &Origin,
    ) -> Result<(), Error> {
        let rejected = Rejected::SecondFactor {
            user_id: passed.user_id.clone(),
            reason,
        };
        self.refused(&passed.lockout_subject, &rejected, origin)
            .await
    }

    /// Whether the account is locked now (a second-factor step then refuses every code).
    pub async fn is_locked(&self, passed: &PasswordPassed) -> Result<bool, Error> {
        Ok(self.lockout.is_locked(&passed.lockout_subject).await?)
    }

    /// Raises the browser's session (cookie `current`, of `user_id`) to `how`: the same
    /// session (`sid`) under a new cookie value, authenticated now. For a second factor
    /// proven after the password (step-up, or enrolling one during a sign-in).
    pub async fn step_up(
        &self,
        current: &str,
        user_id: &str,
        how: Method,
        origin: &Origin,
    ) -> Result<String, Error> {
        // A session signed in upstream keeps its provider and the upstream's methods.
        let held = sessions::find(self.store.as_ref(), current, self.clock.now()).await?;
        let proof = Proof::raised(held.filter(|s| s.user_id == user_id), how);
        let cookie = self.sign_in(Some(current), user_id, &proof, origin).await?;
        let event = Event::new(Kind::LoginSucceeded).user(user_id);
        self.audit.record(
            origin,
            event.with("method", how.as_str()).with("step_up", true),
        );
        Ok(cookie)
    }

    /// Accounts for a refused password: the address's failures, the account's lockout
    /// (not while it is locked: attempts then neither count nor lengthen the lock), and
    /// the audit log, which alone records why.
    async fn refused(
        &self,
        account: &str,
        rejected: &Rejected,
        origin: &Origin,
    ) -> Result<(), Error> {
        self.throttle.sign_in_failed(origin).await?;
        let with_user = |event: Event| match rejected.user_id() {
            Some(id) => event.user(id),
            None => event,
        };
        let failed = Event::new(Kind::LoginFailed).with("reason", rejected.reason());
        self.audit.record(origin, with_user(failed));
        self.metrics.login(match rejected {
            Rejected::Locked { .. } => LoginOutcome::Locked,
            Rejected::SecondFactor { .. } => LoginOutcome::SecondFactorFailed,
            Rejected::UnknownUser | Rejected::WrongPassword { .. } | Rejected::Disabled { .. } => {
                LoginOutcome::WrongPassword
            }
        });
        if matches!(rejected, Rejected::Locked { .. }) {
            return Ok(());
        }
        if let Some(lock) = self.lockout.failed(account).await? {
            let started = Event::new(Kind::LockoutStarted)
                .with("delay_secs", lock.delay.as_secs())
                .with("level", lock.level);
            self.audit.record(origin, with_user(started));
        }
        Ok(())
    }

    /// Starts the session. The same user's session in this browser continues (same `sid`,
    /// a new cookie value, so fixation gains nothing); another user's is ended first.
    async fn sign_in(
        &self,
        previous_cookie: Option<&str>,
        user_id: &str,
        proof: &Proof,
        at_origin: &Origin,
    ) -> Result<String, Error> {
        let now = self.clock.now();
        let store = self.store.as_ref();
        let previous = match previous_cookie {
            Some(old) => sessions::find(store, old, now).await?.map(|s| (old, s)),
            None => None,
        };
        let continuing = match previous {
            Some((old, session)) if session.user_id == user_id => {
                if sessions::remove(store, &sessions::id_of(old))
                    .await?
                    .is_some()
                {
                    self.sessions.ended(session.auth_time);
                }
                Some(session)
            }
            Some((old, _)) => {
                let replaced = EndReason::SignedInAsAnother;
                self.end(&sessions::id_of(old), at_origin, replaced).await?;
                None
            }
            None => None,
        };
        let device = Device::from(at_origin);
        let at = LoginContext {
            device: &device,
            continuing: continuing.as_ref(),
            amr: &proof.amr,
            idp: proof.idp.as_deref(),
            now,
        };
        let (value, started) = sessions::start(store, user_id, &at, self.session_ttl).await?;
        self.sessions.started(started.auth_time);
        Ok(value)
    }

    /// Ends the session stored under `id`; `None` when it was already gone.
    pub async fn end(
        &self,
        id: &str,
        origin: &Origin,
        reason: EndReason,
    ) -> Result<Option<Session>, Error> {
        let store = self.store.as_ref();
        let Some(session) = sessions::remove(store, id).await? else {
            return Ok(None);
        };
        self.sessions.ended(session.auth_time);
        sessions::mark_ended(store, &session.sid).await?;
        let now = self.clock.now();
        for family in sessions::families(store, &session.sid).await? {
            refresh::revoke_family(store, &family, self.family_ttl, now).await?;
        }
        for client_id in sessions::clients(store, &session.sid).await? {
            let Some(client) = self.clients.get(&self.db, &client_id).await? else {
                continue;
            };
            if let Some(uri) = client.backchannel_logout_uri {
                self.notifier.notify(Logout {
                    client_id,
                    uri,
                    sub: session.user_id.clone(),
                    sid: session.sid.clone(),
                    alg: client.id_token_alg,
                });
            }
        }
        let event = match reason {
            EndReason::Logout => Event::new(Kind::Logout),
            other => Event::new(Kind::SessionEnded).with("reason", other.as_str()),
        };
        self.audit.record(
            origin,
            event
                .user(&session.user_id)
                .with("sid", session.sid.as_str()),
        );
        Ok(Some(session))
    }

    /// The user's live sessions (storage id and session), newest first.
    pub async fn list(&self, user_id: &str) -> Result<Vec<(String, Session)>, Error> {
        Ok(sessions::list_for_user(self.store.as_ref(), user_id).await?)
    }

    /// Ends every session of the user except `keep` (a storage id: the browser that asked,
    /// which stays signed in), each as [`end`](Self::end) does; returns how many ended.
    pub async fn end_user_sessions(
        &self,
        user_id: &str,
        keep: Option<&str>,
        origin: &Origin,
        reason: EndReason,
    ) -> Result<usize, Error> {
        let mut ended = 0;
        for (id, _) in self.list(user_id).await? {
            if Some(id.as_str()) != keep && self.end(&id, origin, reason).await?.is_some() {
                ended += 1;
            }
        }
        Ok(ended)
    }

    /// Revokes the user's refresh-token families, with the access tokens minted in them:
    /// every one (`None`), or those of one client. Families outlive sessions, so this
    /// reaches those whose session has ended too. Families past their end are only dropped
    /// from the index: nothing of them can be used any more.
    pub async fn revoke_user_families(
        &self,
        user_id: &str,
        client_id: Option<&str>,
    ) -> Result<(), Error> {
        let store = self.store.as_ref();
        let now = self.clock.now();
        for family in refresh::user_families(store, user_id).await? {
            if client_id.is_some_and(|id| id != family.client_id) {
                continue;
            }
            if family.expires_at > now.secs() {
                refresh::revoke_family(store, &family.family, self.family_ttl, now).await?;
            }
            refresh::forget_user_family(store, user_id, &family).await?;
        }
        Ok(())
    }

    /// Ends one of the user's own sessions, named by its public `sid`; returns its storage
    /// id, or `None` when the user has no such session.
    pub async fn end_own(
        &self,
        user_id: &str,
        sid: &str,
        origin: &Origin,
    ) -> Result<Option<String>, Error> {
        let listed = self.list(user_id).await?;
        let Some((id, _)) = listed.into_iter().find(|(_, s)| s.sid == sid) else {
            return Ok(None);
        };
        self.end(&id, origin, EndReason::ByUser).await?;
        Ok(Some(id))
    }
}
