//! Whether what a token was issued for still stands. A JWT access token cannot be recalled
//! once issued, so the endpoints that judge one — introspection (RFC 7662) and userinfo
//! (OIDC Core §5.3) — also ask whether its client is still registered and its user still
//! exists and is enabled: deleting a client or disabling a user makes their outstanding
//! tokens inactive there at once (within the client cache's second), not at expiry.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use super::Error;
use crate::accounts::UserStatus;
use crate::clients::{Client, ClientCache};

#[derive(Clone)]
pub struct Standing {
    pub db: DatabaseConnection,
    pub clients: Arc<ClientCache>,
    pub users: UserStatus,
}

impl Standing {
    /// The client `client_id` is registered and, for a token with a user (`sub` other than
    /// the client itself, which is how client-credentials tokens name their subject), that
    /// user is active.
    pub async fn holds(&self, client_id: &str, sub: &str) -> Result<bool, Error> {
        Ok(self.client_if_holds(client_id, sub).await?.is_some())
    }

    /// [`holds`](Self::holds), with the client when it does.
    pub async fn client_if_holds(
        &self,
        client_id: &str,
        sub: &str,
    ) -> Result<Option<Client>, Error> {
        let Some(client) = self.clients.get(&self.db, client_id).await? else {
            return Ok(None);
        };
        if sub == client_id || self.users.is_active(&self.db, sub).await? {
            return Ok(Some(client));
        }
        Ok(None)
    }
}
