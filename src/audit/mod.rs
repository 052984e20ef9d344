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

pub use self::store::{Recorded, recent_for_user};
use crate::clock::SharedClock;
use crate::settings::AuditSettings;

/// What happened. The wire names are the `kind` column's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    LoginSucceeded,
    LoginFailed,
    LockoutStarted,
    RateLimited,
    Logout,
    SessionEnded,
    ConsentGranted,
    TokenIssued,
    TokenRefreshed,
    TokenRevoked,
    RefreshReuseDetected,
    CodeReplayDetected,
    ClientAuthFailed,
    UserRegistered,
    EmailVerified,
    VerificationSent,
    PasswordResetRequested,
    PasswordReset,
    PasswordChanged,
    ProfileUpdated,
    ConsentRevoked,
    /// A second factor was turned on (detail `method`: `totp` or `email`).
    MfaEnabled,
    /// A second factor was turned off (detail `method`).
    MfaDisabled,
    RecoveryCodesRegenerated,
    /// An operator registered a client (detail: its type and grants, never its secret).
    ClientCreated,
    ClientUpdated,
    ClientDeleted,
    ClientSecretRotated,
    /// A client registered itself (RFC 7591; detail `via`: open or initial_token).
    ClientRegistered,
    /// An operator made an initial access token (detail: expiry, uses; never the token).
    InitialTokenCreated,
    /// An operator created a user (detail: roles given).
    UserCreated,
    /// An operator set a user's password.
    PasswordSetByOperator,
    UserDisabled,
    UserEnabled,
    /// An operator deleted a user (with their sessions, tokens and consents).
    UserDeleted,
    RoleCreated,
    /// A role given to a user (detail `role`), or taken away.
    RoleGranted,
    RoleRevoked,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoginSucceeded => "login_succeeded",
            Self::LoginFailed => "login_failed",
            Self::LockoutStarted => "lockout_started",
            Self::RateLimited => "rate_limited",
            Self::Logout => "logout",
            Self::SessionEnded => "session_ended",
            Self::ConsentGranted => "consent_granted",
            Self::TokenIssued => "token_issued",
            Self::TokenRefreshed => "token_refreshed",
            Self::TokenRevoked => "token_revoked",
            Self::RefreshReuseDetected => "refresh_reuse_detected",
            Self::CodeReplayDetected => "code_replay_detected",
            Self::ClientAuthFailed => "client_auth_failed",
            Self::UserRegistered => "user_registered",
            Self::EmailVerified => "email_verified",
            Self::VerificationSent => "verification_sent",
            Self::PasswordResetRequested => "password_reset_requested",
            Self::PasswordReset => "password_reset",
            Self::PasswordChanged => "password_changed",
            Self::ProfileUpdated => "profile_updated",
            Self::ConsentRevoked => "consent_revoked",
            Self::MfaEnabled => "mfa_enabled",
            Self::MfaDisabled => "mfa_disabled",
            Self::RecoveryCodesRegenerated => "recovery_codes_regenerated",
            Self::ClientCreated => "client_created",
            Self::ClientUpdated => "client_updated",
            Self::ClientDeleted => "client_deleted",
            Self::ClientSecretRotated => "client_secret_rotated",
            Self::ClientRegistered => "client_registered",
            Self::InitialTokenCreated => "initial_token_created",
            Self::UserCreated => "user_created",
            Self::PasswordSetByOperator => "password_set_by_operator",
            Self::UserDisabled => "user_disabled",
            Self::UserEnabled => "user_enabled",
            Self::UserDeleted => "user_deleted",
            Self::RoleCreated => "role_created",
            Self::RoleGranted => "role_granted",
            Self::RoleRevoked => "role_revoked",
        }
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
