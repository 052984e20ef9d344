//! The audit log: security events (who signed in or failed to, which tokens were issued,
//! refreshed or revoked, reuse and replay detected, lockouts and rate limits) with time,
//! user, client, address, user agent and request id. Recording never waits: events go
//! through a bounded queue to a writer task that inserts them in batches; a full queue
//! drops the event, counts it and logs it. Each event is also a tracing event with target
//! `audit`, for log shippers. Nothing secret is ever recorded: details are built from
//! fixed fields (grant types, reasons, ids), never from request values that carry secrets.

mod store;
mod writer;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sea_orm::DatabaseConnection;
use serde_json::{Map, Value};
use tokio::sync::mpsc;

pub use self::store::{Filter, Recorded, recent_for_user, search};
use crate::clock::SharedClock;
use crate::settings::AuditSettings;

/// Declares [`Kind`] with each variant's wire name beside it, so the name, its parse and the
/// list of every kind cannot drift apart.
macro_rules! kinds {
    ($($(#[$doc:meta])* $variant:ident => $wire:literal,)*) => {
        /// What happened. The wire names are the `kind` column's values.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Kind {
            $($(#[$doc])* $variant,)*
        }

        impl Kind {
            /// Every kind, in declaration order.
            pub const ALL: &[Kind] = &[$(Self::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)*
                }
            }
        }
    };
}

kinds! {
    LoginSucceeded => "login_succeeded",
    LoginFailed => "login_failed",
    LockoutStarted => "lockout_started",
    RateLimited => "rate_limited",
    Logout => "logout",
    SessionEnded => "session_ended",
    ConsentGranted => "consent_granted",
    TokenIssued => "token_issued",
    TokenRefreshed => "token_refreshed",
    TokenRevoked => "token_revoked",
    RefreshReuseDetected => "refresh_reuse_detected",
    CodeReplayDetected => "code_replay_detected",
    ClientAuthFailed => "client_auth_failed",
    UserRegistered => "user_registered",
    EmailVerified => "email_verified",
    VerificationSent => "verification_sent",
    PasswordResetRequested => "password_reset_requested",
    PasswordReset => "password_reset",
    PasswordChanged => "password_changed",
    ProfileUpdated => "profile_updated",
    ConsentRevoked => "consent_revoked",
    /// A second factor was turned on (detail `method`: `totp` or `email`).
    MfaEnabled => "mfa_enabled",
    /// A second factor was turned off (detail `method`).
    MfaDisabled => "mfa_disabled",
    RecoveryCodesRegenerated => "recovery_codes_regenerated",
    /// An operator removed every second factor of a user (detail `factors`: how many).
    MfaResetByOperator => "mfa_reset_by_operator",
    /// An operator registered a client (detail: its type and grants, never its secret).
    ClientCreated => "client_created",
    ClientUpdated => "client_updated",
    ClientDeleted => "client_deleted",
    ClientSecretRotated => "client_secret_rotated",
    /// A client registered itself (RFC 7591; detail `via`: open or initial_token).
    ClientRegistered => "client_registered",
    /// An operator made an initial access token (detail: expiry, uses; never the token).
    InitialTokenCreated => "initial_token_created",
    /// A signing key rotated in (detail `kid`, `alg`), by an operator.
    KeyRotated => "key_rotated",
    /// A signing key revoked (detail `kid`, and `replacement` when it was signing).
    KeyRevoked => "key_revoked",
    /// An operator created a user (detail: roles given).
    UserCreated => "user_created",
    /// An operator set a user's password.
    PasswordSetByOperator => "password_set_by_operator",
    UserDisabled => "user_disabled",
    UserEnabled => "user_enabled",
    /// An operator deleted a user (with their sessions, tokens and consents).
    UserDeleted => "user_deleted",
    RoleCreated => "role_created",
    /// A role given to a user (detail `role`), or taken away.
    RoleGranted => "role_granted",
    RoleRevoked => "role_revoked",
    /// An upstream account was linked to a user (detail `provider`, and `via`: the
    /// account page, a verified email, or the account made for it).
    IdentityLinked => "identity_linked",
    /// A user unlinked an upstream account (detail `provider`).
    IdentityUnlinked => "identity_unlinked",
}

impl Kind {
    /// The kind a wire name names, if any.
    pub fn parse(wire: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|kind| kind.as_str() == wire)
    }
}

/// Where a request came from, as the audit log records it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub ip: String,
    pub user_agent: String,
    pub request_id: String,
}

/// One event, built by the capability where it happens.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: Kind,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub detail: Map<String, Value>,
}

impl Event {
    pub fn new(kind: Kind) -> Self {
        Self {
            kind,
            user_id: None,
            client_id: None,
            detail: Map::new(),
        }
    }

    pub fn user(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    pub fn client(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// A detail field: a fixed name and a value that is never a secret.
    pub fn with(mut self, name: &'static str, value: impl Into<Value>) -> Self {
        self.detail.insert(name.to_owned(), value.into());
        self
    }
}

/// The handle capabilities record events through; cheap to clone.
#[derive(Clone)]
pub struct Audit {
    queue: mpsc::Sender<writer::Row>,
    dropped: Arc<AtomicU64>,
    clock: SharedClock,
}

impl Audit {
    /// Starts the writer and the purge task on the current runtime; on a SQLite file the
    /// writer has a connection of its own to it.
    pub fn start(
        db: DatabaseConnection,
        sqlite_file: Option<&Path>,
        clock: SharedClock,
        settings: &AuditSettings,
    ) -> anyhow::Result<Self> {
        let (queue, rows) = mpsc::channel(settings.queue.max(1));
        let retention = (clock.clone(), settings.retention_days);
        writer::spawn(db, sqlite_file, rows, retention)?;
        Ok(Self {
            queue,
            dropped: Arc::default(),
            clock,
        })
    }

    /// Records `event`, never waiting: when the queue is full the event is dropped, counted
    /// ([`dropped`](Self::dropped)) and logged.
    pub fn record(&self, origin: &Origin, event: Event) {
        let row = writer::Row::new(origin, event, self.clock.now());
        emit(&row);
        if self.queue.try_send(row).is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::warn!(dropped, "audit queue full; event dropped");
        }
    }

    /// Events dropped since start because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Records `event` at once, waiting for the row: for operator changes, which are rare and
/// must not be lost when a short-lived process (the CLI) exits right after.
pub async fn write_now(
    db: &DatabaseConnection,
    origin: &Origin,
    event: Event,
    at: crate::clock::UnixTime,
) -> anyhow::Result<()> {
    let row = writer::Row::new(origin, event, at);
    emit(&row);
    store::insert(db, vec![row.0]).await
}

/// The event as a structured tracing event (`target: "audit"`), for a JSON log shipper.
fn emit(row: &writer::Row) {
    let event = &row.0;
    tracing::info!(
        target: "audit",
        kind = %event.kind,
        user_id = event.user_id.as_deref(),
        client_id = event.client_id.as_deref(),
        ip = %event.ip,
        request_id = %event.request_id,
        detail = %event.detail,
        "audit event"
    );
}

#[cfg(test)]
mod tests {
    use super::Kind;

    #[test]
    fn every_kind_has_its_own_wire_name_and_parses_back() {
        let mut names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(*kind));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Kind::ALL.len(), "a wire name is used twice");
        assert_eq!(Kind::parse("LoginSucceeded"), None, "wire names only");
    }
}
