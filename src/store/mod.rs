//! The ephemeral store: short-lived state (authorization codes, refresh tokens, browser
//! sessions, counters) with TTLs. Redis in production; a database table in the embedded default
//! ([`SqliteStore`], in place) or on PostgreSQL without Redis ([`SqlStore`]).

mod observed;
mod redis;
mod sql;
mod sqlite;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use self::redis::RedisStore;
pub use self::sql::SqlStore;
pub use self::sqlite::SqliteStore;

/// Everything that can go wrong is "the store is unreachable or misbehaving": callers
/// answer 503 / `temporarily_unavailable` and retry later; nothing is half-written.
#[derive(Debug, thiserror::Error)]
#[error("ephemeral store unavailable: {0:#}")]
pub struct StoreError(#[from] pub anyhow::Error);

pub type StoreResult<T> = Result<T, StoreError>;

/// The shared handle the application passes around.
pub type Store = Arc<dyn EphemeralStore>;

/// Key/value operations with expiry. Keys are namespaced by the caller (`code:…`, `rt:…`);
/// implementations may add a deployment-wide prefix.
///
/// The hash-tag rule: an operation on more than one key (`take_leaving`, `get_marking`,
/// `window`) is one atomic step on Redis Cluster only when its keys share a hash slot, so
/// callers give them one hash tag (Redis hashes only what is between a key's first `{` and
/// the next `}`): `code:{D}` and `code-used:{D}`. A [`batch`](Self::batch) is grouped by
/// slot there.
#[async_trait]
pub trait EphemeralStore: Send + Sync + 'static {
    /// Stores `value` under `key` for `ttl`, replacing any previous value.
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> StoreResult<()>;

    /// Stores only if no live value exists; `true` when this call stored it.
    async fn put_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> StoreResult<bool>;

    async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>>;

    /// Replaces a live value only: `false`, and nothing stored, when there is none (so an
    /// update can never bring back what was deleted meanwhile).
    async fn put_if_present(&self, key: &str, value: &[u8], ttl: Duration) -> StoreResult<bool>;

    /// Deletes `key` only while it holds exactly `value`; `true` when this call deleted it.
    async fn delete_if(&self, key: &str, value: &[u8]) -> StoreResult<bool>;

    /// Atomically reads and removes: of concurrent takes of one key exactly one gets the value.
    async fn take(&self, key: &str) -> StoreResult<Option<Vec<u8>>>;

    /// Like [`take`](Self::take), and when the value was there, stores `marker` under
    /// `marker_key` in the same atomic step (a redeemed code leaves its replay marker).
    async fn take_leaving(
        &self,
        key: &str,
        marker_key: &str,
        marker: &[u8],
        ttl: Duration,
    ) -> StoreResult<Option<Vec<u8>>>;

    /// Reads `key` and, when it holds a value, stores `marker` under `marker_key` unless a
    /// live value is there, in one atomic step (one round trip): of concurrent callers exactly
    /// one stores it. Returns the value and whether this call stored the marker; `None` when
    /// `key` holds nothing, and then nothing is stored.
    async fn get_marking(
        &self,
        key: &str,
        marker_key: &str,
        marker: &[u8],
        ttl: Duration,
    ) -> StoreResult<Option<(Vec<u8>, bool)>>;

    async fn delete(&self, key: &str) -> StoreResult<()>;

    /// Increments a counter, creating it with `ttl` when absent; returns the new value.
    async fn incr(&self, key: &str, ttl: Duration) -> StoreResult<i64>;

    /// A counter's value; 0 when there is none (never counted, or expired).
    async fn counter(&self, key: &str) -> StoreResult<i64>;

    /// The two halves of a sliding-window estimate (see `limits::window`): counts one hit in
    /// the `current` fixed window (only reads it when `count` is false; `ttl` as for
    /// [`incr`](Self::incr)) and reads the `previous` window's counter. One round trip to
    /// Redis; give both keys one hash tag (`{…}`) so they share a cluster slot.
    async fn window(
        &self,
        current: &str,
        previous: &str,
        ttl: Duration,
        count: bool,
    ) -> StoreResult<(i64, i64)> {
        let now = if count {
            self.incr(current, ttl).await?
        } else {
            self.counter(current).await?
        };
        Ok((now, self.counter(previous).await?))
    }

    /// Adds a member to a set; it is listed for at least `ttl` from now (Redis keeps the
    /// whole set that long, the SQL store expires members one by one).
    async fn set_add(&self, key: &str, member: &str, ttl: Duration) -> StoreResult<()>;

    async fn set_remove(&self, key: &str, member: &str) -> StoreResult<()>;

    async fn set_members(&self, key: &str) -> StoreResult<Vec<String>>;

    /// Applies several writes together: one round trip to Redis (an atomic pipeline), one
    /// transaction in SQL. The token path uses it to store what it minted at once. On Redis
    /// Cluster each hash slot's writes are one transaction, applied in the order of their
    /// first write: list index writes first and give what must land together one hash tag.
    async fn batch(&self, writes: &[Write]) -> StoreResult<()>;

    /// Whether the backend answers; used by `/readyz`.
    async fn ping(&self) -> StoreResult<()>;
}

/// One write of a [`EphemeralStore::batch`].
#[derive(Debug, Clone)]
pub enum Write {
    Put {
        key: String,
        value: Vec<u8>,
        ttl: Duration,
    },
    /// Skipped when a live value exists (no result is reported in a batch).
    PutIfAbsent {
        key: String,
        value: Vec<u8>,
        ttl: Duration,
    },
    Delete {
        key: String,
    },
    SetAdd {
        key: String,
        member: String,
        ttl: Duration,
    },
}

fn ttl_millis(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1)
}

/// Redis when `redis.url` is set, else the built-in table store in the same database: in
/// place on a SQLite file, through the pool on PostgreSQL (or an in-memory SQLite). The
/// store keeps time by the wall clock, as Redis does whatever the application's clock says:
/// its TTLs reclaim storage, and the expiries the protocol depends on (codes, sessions)
/// are checked against the application's clock by their owners. Every call is measured
/// under its backend's name (`redis`, `sqlite`, `sql`).
pub fn build(
    settings: &crate::settings::Settings,
    db: &sea_orm::DatabaseConnection,
    sqlite_file: Option<&Path>,
    (wall_clock, metrics): (crate::clock::SharedClock, &crate::metrics::Metrics),
) -> anyhow::Result<Store> {
    const PURGE_EVERY: Duration = Duration::from_secs(60);
    let (backend, store): (&'static str, Store) = if settings.redis.url.is_some() {
        ("redis", Arc::new(RedisStore::connect(&settings.redis)?))
    } else if let Some(file) = sqlite_file {
        let store = SqliteStore::open(file, PURGE_EVERY, wall_clock)?;
        ("sqlite", Arc::new(store))
    } else {
        let store = SqlStore::new(db.clone(), wall_clock);
        store.spawn_purger(PURGE_EVERY);
        ("sql", Arc::new(store))
    };
    let observed = observed::Observed::new(store, backend, metrics.store(backend));
    Ok(Arc::new(observed))
}
