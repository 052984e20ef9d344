//! Operating Gatehouse without SQL: the capability functions for clients, users, roles and
//! the audit log's search that every front end calls (the CLI today; the admin API and console build on them), so
//! validation and the audit record live here once. Each change is written to the database
//! and audited before it returns; the running servers see it within the client cache's TTL
//! (clients) or at once (users: the user-status check reads the database, evicted by
//! PostgreSQL `NOTIFY`).

pub mod access;
pub mod audit_log;
pub mod client_rules;
pub mod clients;
pub mod dynamic;
pub mod initial_tokens;
pub mod keys;
pub mod overview;
pub mod registration;
pub mod roles;
pub mod sessions;
pub mod users;

use sea_orm::DatabaseConnection;

use crate::accounts::{PasswordPolicy, Passwords};
use crate::audit::{self, Event, Origin};
use crate::clock::SharedClock;

#[derive(Clone)]
pub struct Admin {
    pub db: DatabaseConnection,
    pub passwords: Passwords,
    /// What a password set by an operator must meet: the same as on the registration page.
    pub policy: PasswordPolicy,
    pub clock: SharedClock,
    /// Where the change comes from, as the audit log records it (the CLI, or an API
    /// caller's request).
    pub origin: Origin,
    /// Who makes it, when known (`user:<id>`, `client:<id>`): the audit event's `by`.
    pub by: Option<String>,
    /// How long a rotated client secret keeps working when the operator names no overlap.
    pub secret_overlap: std::time::Duration,
    /// The algorithms the server has keys for (`keys.algorithms`): what a client may be
    /// registered to be signed for.
    pub algorithms: Vec<crate::keys::Alg>,
    /// Rotating and revoking signing keys.
    pub keys: Option<std::sync::Arc<keys::KeyAdmin>>,
}

/// Why an operator's request was refused; each names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A value that breaks a rule: which field, and why.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("there is no {what} {id:?}")]
    NotFound { what: &'static str, id: String },
    /// The change clashes with what exists (an email or a role already taken).
    #[error("{0}")]
    Conflict(String),
    /// An update without the version it changes (`If-Match`): it could overwrite another.
    #[error("send the version you change (If-Match with the ETag you read)")]
    VersionRequired,
    /// An update of a version that is no longer current: someone else changed it first.
    #[error("it changed since you read it: read it again, then change that")]
    VersionChanged,
    /// A capability of the server's own failed (a store outage is a 503).
    #[error(transparent)]
    Service(#[from] crate::oauth::Error),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl AdminError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }
}

impl Admin {
    /// The origin of a change made from the command line on this machine.
    pub fn cli_origin() -> Origin {
        Origin {
            ip: "local".to_owned(),
            user_agent: "gatehouse cli".to_owned(),
            request_id: String::new(),
        }
    }

    /// The same service, acting for `by` from `origin` (an admin API request).
    pub fn acting_for(&self, origin: Origin, by: &str) -> Self {
        Self {
            origin,
            by: Some(by.to_owned()),
            ..self.clone()
        }
    }

    /// Writes the change's audit event before the change is reported done.
    async fn audited(&self, event: Event) -> Result<(), AdminError> {
        let now = self.clock.now();
        let event = match &self.by {
            Some(by) => event.with("by", by.as_str()),
            None => event,
        };
        Ok(audit::write_now(&self.db, &self.origin, event, now).await?)
    }
}
