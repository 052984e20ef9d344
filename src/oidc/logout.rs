//! Ending a browser session: the session, its refresh-token families, and a back-channel
//! logout to every client that received tokens in it.

use std::time::Duration;

use sea_orm::DatabaseConnection;

use super::backchannel::{Logout, Notifier};
use crate::clients;
use crate::oauth::refresh;
use crate::sessions::{self, Session};
use crate::store::EphemeralStore;

pub struct Ending<'a> {
    pub db: &'a DatabaseConnection,
    pub store: &'a dyn EphemeralStore,
    pub notifier: &'a Notifier,
    pub family_ttl: Duration,
}

/// Ends the session stored under `id`; `None` when it was already gone.
pub async fn end_session(e: &Ending<'_>, id: &str) -> anyhow::Result<Option<Session>> {
    let Some(session) = sessions::remove(e.store, id).await? else {
        return Ok(None);
    };
    for family in sessions::families(e.store, &session.sid).await? {
        refresh::revoke_family(e.store, &family, e.family_ttl).await?;
    }
    for client_id in sessions::clients(e.store, &session.sid).await? {
        let Some(client) = clients::store::find(e.db, &client_id).await? else {
            continue;
        };
        if let Some(uri) = client.backchannel_logout_uri {
            e.notifier.notify(Logout {
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
