//! Whether a user may still be issued tokens, asked on every code exchange and refresh.
//!
//! On PostgreSQL the answer "active" is remembered per user, and a trigger on `users`
//! (migration 7) sends a `NOTIFY` when a row changes or goes, which every instance's listener
//! turns into an eviction. Disabling an account so stops token issuance within the
//! notification's delivery time (milliseconds) without a database round trip per grant. The
//! cache is trusted only while the listener is subscribed; it is emptied whenever the
//! subscription is (re)made, since notifications sent meanwhile are lost, and an entry lives at
//! most [`FRESH_FOR`] in case a connection dies unnoticed. SQLite has no notifications, and its
//! query is in-process, so there every check queries, in place on a connection of its own
//! ([`crate::database::sqlite_in_place`]): a primary-key lookup in the page cache, with no
//! thread switch.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use anyhow::Context;
use sea_orm::sqlx::postgres::{PgListener, PgPool};
use sea_orm::{DatabaseBackend, DatabaseConnection};

use super::store;
use crate::clock::{SharedClock, UnixTime};

/// The channel migration 7's trigger notifies, with the user's id as payload.
pub const CHANNEL: &str = "gatehouse_user_changes";
/// How long a remembered "active" is believed without a notification to the contrary.
pub const FRESH_FOR: Duration = Duration::from_secs(30);
/// A bound on memory: past it, expired entries go, and if that is not enough, all of them.
const MAX_ENTRIES: usize = 100_000;

#[derive(Clone, Default)]
pub struct UserStatus {
    cache: Option<Arc<Cache>>,
    _listener: Option<Arc<AbortOnDrop>>,
    in_place: Option<Arc<Mutex<rusqlite::Connection>>>,
}

impl UserStatus {
    /// On PostgreSQL, subscribes to user changes in the background; on a SQLite file
    /// (`sqlite_file`), every check queries in place; otherwise through the pool. Must run
    /// inside the Tokio runtime.
    pub fn start(
        db: &DatabaseConnection,
        sqlite_file: Option<&Path>,
        clock: SharedClock,
    ) -> anyhow::Result<Self> {
        if let Some(file) = sqlite_file {
            let conn = crate::database::sqlite_in_place(file)?;
            return Ok(Self {
                in_place: Some(Arc::new(Mutex::new(conn))),
                ..Self::default()
            });
        }
        if db.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(Self::default());
        }
        let cache = Arc::new(Cache::new(clock));
        let pool = db.get_postgres_connection_pool().clone();
        let task = tokio::spawn(listen(pool, Arc::downgrade(&cache)));
        Ok(Self {
            cache: Some(cache),
            _listener: Some(Arc::new(AbortOnDrop(task.abort_handle()))),
            in_place: None,
        })
    }

    /// Whether the user exists and is enabled.
    pub async fn is_active(&self, db: &DatabaseConnection, id: &str) -> anyhow::Result<bool> {
        if let Some(conn) = &self.in_place {
            return is_active_in_place(conn, id);
        }
        let Some(cache) = &self.cache else {
            return store::is_active(db, id).await;
        };
        if cache.knows_active(id) {
            return Ok(true);
        }
        let generation = cache.generation();
        let active = store::is_active(db, id).await?;
        if active {
            cache.remember(id, generation);
        }
        Ok(active)
    }
}

/// [`store::is_active`]'s question, asked on the in-place SQLite connection.
fn is_active_in_place(conn: &Mutex<rusqlite::Connection>, id: &str) -> anyhow::Result<bool> {
    use rusqlite::OptionalExtension;
    let conn = conn.lock().unwrap_or_else(|e| e.into_inner());
    let disabled: Option<bool> = conn
        .prepare_cached("SELECT disabled FROM users WHERE id = ?1")
        .and_then(|mut statement| statement.query_row([id], |row| row.get(0)).optional())
        .map_err(crate::database::rusqlite_error)
        .context("checking a user")?;
    Ok(disabled == Some(false))
}

struct Cache {
    clock: SharedClock,
    active_since: Mutex<HashMap<String, UnixTime>>,
    /// Bumped by every eviction, under the map's lock: a lookup that raced one does not
    /// store its (possibly stale) answer.
    generation: AtomicU64,
    /// Whether notifications are flowing, so that remembered answers can be trusted.
    listening: AtomicBool,
}

impl Cache {
    fn new(clock: SharedClock) -> Self {
        Self {
            clock,
            active_since: Mutex::default(),
            generation: AtomicU64::default(),
            listening: AtomicBool::default(),
        }
    }

    fn fresh(&self, since: UnixTime) -> bool {
        self.clock.now().since(since) < FRESH_FOR
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<String, UnixTime>> {
        // Plain data: a panic elsewhere cannot leave it half-updated.
        self.active_since.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    fn knows_active(&self, id: &str) -> bool {
        self.listening.load(Ordering::SeqCst)
            && self
                .entries()
                .get(id)
                .is_some_and(|since| self.fresh(*since))
    }

    fn remember(&self, id: &str, generation: u64) {
        let mut entries = self.entries();
        if !self.listening.load(Ordering::SeqCst) || self.generation() != generation {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            let now = self.clock.now();
            entries.retain(|_, since| now.since(*since) < FRESH_FOR);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(id.to_owned(), self.clock.now());
    }

    fn evict(&self, id: &str) {
        let mut entries = self.entries();
        self.generation.fetch_add(1, Ordering::SeqCst);
        entries.remove(id);
    }

    /// Forgets everything, and says whether notifications are flowing from now on.
    fn reset(&self, listening: bool) {
        let mut entries = self.entries();
        self.generation.fetch_add(1, Ordering::SeqCst);
        entries.clear();
        self.listening.store(listening, Ordering::SeqCst);
    }
}

/// Stops the listener when the last `UserStatus` goes (tests build many servers).
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Subscribes, evicts on every notification, and starts over after a lost connection.
async fn listen(pool: PgPool, cache: Weak<Cache>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match subscribe(&pool).await {
            Ok(mut listener) => {
                let Some(c) = cache.upgrade() else { return };
                c.reset(true);
                drop(c);
                backoff = Duration::from_millis(100);
                loop {
                    let received = listener.try_recv().await;
                    let Some(c) = cache.upgrade() else { return };
                    match received {
                        Ok(Some(notification)) => c.evict(notification.payload()),
                        // Reconnected and subscribed again, but what was sent meanwhile is lost.
                        Ok(None) => c.reset(true),
                        Err(e) => {
                            tracing::warn!(error = %e, "user change notifications stopped");
                            break;
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot subscribe to user changes"),
        }
        let Some(c) = cache.upgrade() else { return };
        c.reset(false);
        drop(c);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

async fn subscribe(pool: &PgPool) -> Result<PgListener, sea_orm::sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}
