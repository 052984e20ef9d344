//! The OP's browser sessions (OIDC Core §3.1.2.3): signing a user in with a password, who is
//! signed in, and ending a session everywhere: its refresh-token families, and a
//! back-channel logout to every client that received tokens in it.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;

use super::backchannel::{Logout, Notifier};
use crate::accounts::{self, Credentials, Passwords, User};
use crate::clients::ClientCache;
use crate::clock::SharedClock;
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
    pub notifier: Notifier,
    pub clock: SharedClock,
    pub session_ttl: Duration,
    /// How long a revoked family must stay known (the longest a refresh token can live).
    pub family_ttl: Duration,
}

impl SignOn {
    /// The signed-in user behind a session cookie, if the session and the user still exist.
    pub async fn current(&self, cookie: Option<&str>) -> Result<Option<SignedIn>, Error> {
        let Some((session_id, session)) = self.session(cookie).await? else {
            return Ok(None);
        };
        let user = accounts::store::find_by_id(&self.db, &session.user_id).await?;
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

    /// Checks the password and, when it is right, starts the session; returns its cookie
    /// value. `None` for a wrong email or password, in the same time either way.
    pub async fn sign_in_with_password(
        &self,
        previous_cookie: Option<&str>,
        credentials: &Credentials,
        device: &Device,
    ) -> Result<Option<(String, User)>, Error> {
        let Some(user) = accounts::check_password(&self.db, &self.passwords, credentials).await?
        else {
            tracing::info!(ip = %device.ip, "sign-in failed");
            return Ok(None);
        };
        let cookie = self.sign_in(previous_cookie, &user.id, device).await?;
        tracing::info!(user_id = %user.id, ip = %device.ip, "signed in");
        Ok(Some((cookie, user)))
    }

    /// Starts the session. The same user's session in this browser continues (same `sid`,
    /// a new cookie value, so fixation gains nothing); another user's is ended first.
    async fn sign_in(
        &self,
        previous_cookie: Option<&str>,
        user_id: &str,
        device: &Device,
    ) -> Result<String, Error> {
        let now = self.clock.now();
        let store = self.store.as_ref();
        let previous = match previous_cookie {
            Some(old) => sessions::find(store, old, now).await?.map(|s| (old, s)),
            None => None,
        };
        let continuing = match previous {
            Some((old, session)) if session.user_id == user_id => {
                sessions::remove(store, &sessions::id_of(old)).await?;
                Some(session)
            }
            Some((old, _)) => {
                self.end(&sessions::id_of(old)).await?;
                None
            }
            None => None,
        };
        let at = LoginContext {
            device,
            continuing: continuing.as_ref(),
            now,
        };
        let (value, _) = sessions::start(store, user_id, &at, self.session_ttl).await?;
        Ok(value)
    }

    /// Ends the session stored under `id`; `None` when it was already gone.
    pub async fn end(&self, id: &str) -> Result<Option<Session>, Error> {
        let store = self.store.as_ref();
        let Some(session) = sessions::remove(store, id).await? else {
            return Ok(None);
        };
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
                });
            }
        }
        tracing::info!(user_id = %session.user_id, "session ended");
        Ok(Some(session))
    }

    /// The user's live sessions (storage id and session), newest first.
    pub async fn list(&self, user_id: &str) -> Result<Vec<(String, Session)>, Error> {
        Ok(sessions::list_for_user(self.store.as_ref(), user_id).await?)
    }

    /// Ends one of the user's own sessions, named by its public `sid`; returns its storage
    /// id, or `None` when the user has no such session.
    pub async fn end_own(&self, user_id: &str, sid: &str) -> Result<Option<String>, Error> {
        let listed = self.list(user_id).await?;
        let Some((id, _)) = listed.into_iter().find(|(_, s)| s.sid == sid) else {
            return Ok(None);
        };
        self.end(&id).await?;
        Ok(Some(id))
    }
}
