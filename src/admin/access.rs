//! Who may call the admin API: the bearer of one of our access tokens whose subject is a
//! user holding the `admin` role (read from the database on each call, so taking the role
//! away takes effect at once), or a client-credentials token carrying the `gatehouse:admin`
//! scope — which only a client registered with that scope can be granted.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::accounts;
use crate::clock::SharedClock;
use crate::keys::KeyRing;
use crate::oauth::{Error, tokens};
use crate::settings::Issuer;
use crate::store::Store;

/// The role that makes a user an operator.
pub const ADMIN_ROLE: &str = "admin";
/// The scope that makes a client-credentials token an operator's.
pub const ADMIN_SCOPE: &str = "gatehouse:admin";

/// Who is acting, as the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operator {
    User(String),
    Client(String),
}

impl Operator {
    /// `user:<id>` or `client:<id>`.
    pub fn label(&self) -> String {
        match self {
            Self::User(id) => format!("user:{id}"),
            Self::Client(id) => format!("client:{id}"),
        }
    }
}

#[derive(Clone)]
pub struct AdminAccess {
    pub db: DatabaseConnection,
    pub keys: Arc<KeyRing>,
    pub issuer: Issuer,
    pub store: Store,
    pub clock: SharedClock,
}

impl AdminAccess {
    /// The operator behind `bearer`: `MissingToken` / `InvalidToken` (401) without a valid
    /// access token, `InsufficientScope` (403) when its bearer is no operator.
    pub async fn operator(&self, bearer: Option<&str>) -> Result<Operator, Error> {
        let token = bearer.ok_or(Error::MissingToken)?;
        let now = self.clock.now();
        let claims =
            tokens::verify_access(&self.keys, &self.issuer, self.store.as_ref(), token, now)
                .await?;
        let machine =
            claims.sid.is_none() && claims.auth_time.is_none() && claims.sub == claims.client_id;
        if machine && claims.scope.split(' ').any(|s| s == ADMIN_SCOPE) {
            return Ok(Operator::Client(claims.client_id));
        }
        let is_admin = !machine
            && accounts::store::is_active(&self.db, &claims.sub).await?
            && accounts::store::roles_of(&self.db, &claims.sub)
                .await?
                .iter()
                .any(|r| r == ADMIN_ROLE);
        match is_admin {
            true => Ok(Operator::User(claims.sub)),
            false => Err(Error::InsufficientScope(format!(
                "the admin API needs a user with the {ADMIN_ROLE} role or the {ADMIN_SCOPE} scope"
            ))),
        }
    }
}
