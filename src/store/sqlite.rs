//! The embedded default's store: the `ephemeral_*` tables of the SQLite database, reached
//! through a connection of our own that runs each operation in place, on the calling thread.
//!
//! Why not through sea-orm like [`SqlStore`](super::SqlStore): see
//! [`sqlite_in_place`]. Through sqlx a code exchange (two transactions, eight statements) paid
//! about twenty thread switches. One operation here is tens of microseconds of page-cache work
//! under a mutex; SQLite admits one writer at a time anyway. The rest of the application (users,
//! clients, keys) still goes through sea-orm on the same file.
//!
//! The connection never checkpoints on commit; a maintenance thread checkpoints every second on
//! a second connection, and purges expired rows.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use anyhow::{Context, anyhow};
use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::sql::{
    COUNTER, DELETE, DELETE_IF, EXPIRING_TABLES, GET, INCR, PUT, PUT_IF_ABSENT, PUT_IF_PRESENT,
    SET_ADD, SET_MEMBERS, SET_REMOVE, TAKE,
};
use crate::clock::SharedClock;
use crate::database::{rusqlite_error, sqlite_in_place};

use super::{EphemeralStore, StoreError, StoreResult, Write, ttl_millis};

/// How often the maintenance thread folds the write-ahead log into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// Expired rows are deleted this many at a time, so the writer lock is never held long.
const PURGE_CHUNK: usize = 500;

#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    /// The store's time, by which entries expire: the wall clock in a server (as Redis keeps
    /// its own), a test clock in the contract tests.
    clock: SharedClock,
}

impl SqliteStore {
    /// Opens `path` (already migrated) and starts the maintenance thread, which checkpoints
    /// every second, purges expired rows every `purge_every`, and ends with the store.
    pub fn open(path: &Path, purge_every: Duration, clock: SharedClock) -> anyhow::Result<Self> {
        let conn = sqlite_in_place(path)?;
        // Waits for the write lock happen in `run`, without blocking the thread.
        conn.busy_timeout(Duration::ZERO)?;
        let store = Self {
            conn: Arc::new(Mutex::new(conn)),
            clock: clock.clone(),
        };
        let checkpointer = sqlite_in_place(path)?;
        let weak = Arc::downgrade(&store.conn);
        std::thread::Builder::new()
            .name("gatehouse-sqlite".into())
            .spawn(move || maintain(weak, checkpointer, purge_every, clock))
            .context("starting the SQLite maintenance thread")?;
        Ok(store)
    }

    /// Deletes every expired row now, a chunk at a time; returns how many went.
    pub fn purge_expired(&self) -> anyhow::Result<u64> {
        purge(&self.conn, self.now())
    }

    fn now(&self) -> i64 {
        self.clock.now().millis()
    }

    fn lock(&self) -> StoreResult<MutexGuard<'_, Connection>> {
        self.conn
            .lock()
            .map_err(|_| StoreError(anyhow!("the SQLite store's lock is poisoned")))
    }

    /// Runs `op` on the connection. While another connection holds SQLite's write lock (a
    /// sea-orm transaction of the application, the audit writer), it waits *asynchronously*
    /// and tries again, for up to [`BUSY_FOR`]: the connection's busy timeout is zero,
    /// because a blocking wait would stall every task of this thread, among them perhaps the
    /// very transaction that holds the lock, which could then not finish before the timeout.
    /// A busy statement changed nothing, so trying it again is safe.
    async fn run<T>(
        &self,
        what: &'static str,
        op: impl Fn(&mut Connection) -> rusqlite::Result<T>,
    ) -> StoreResult<T> {
        let mut waited = Duration::ZERO;
        let mut pause = Duration::from_micros(200);
        loop {
            let result = op(&mut *self.lock()?);
            match result {
                Err(e) if is_busy(&e) && waited < BUSY_FOR => {
                    tokio::time::sleep(pause).await;
                    waited += pause;
                    pause = (pause * 2).min(Duration::from_millis(20));
                }
                other => {
                    return other.map_err(|e| StoreError(rusqlite_error(e).context(what)));
                }
            }
        }
    }

    /// Runs `work` in a write transaction (`BEGIN IMMEDIATE`: the write lock is taken up front,
    /// so a read inside cannot go stale before the write).
    async fn write<T>(
        &self,
        what: &'static str,
        work: impl Fn(&Transaction<'_>) -> rusqlite::Result<Option<T>>,
    ) -> StoreResult<Option<T>> {
        self.run(what, |conn| {
            let txn = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = work(&txn)?;
            // Nothing to keep when `work` found nothing: dropping the transaction rolls it back.
            if out.is_some() {
                txn.commit()?;
            }
            Ok(out)
        })
        .await
    }
}

/// How long a store operation waits for SQLite's write lock before it is an outage (503).
const BUSY_FOR: Duration = Duration::from_secs(5);

fn is_busy(error: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
    matches!(
        error.sqlite_error_code(),
        Some(DatabaseBusy | DatabaseLocked)
    )
}

/// The maintenance thread's loop; it ends once the store is dropped.
fn maintain(
    store: Weak<Mutex<Connection>>,
    checkpointer: Connection,
    purge_every: Duration,
    clock: SharedClock,
) {
    let mut since_purge = Duration::ZERO;
    loop {
        std::thread::sleep(CHECKPOINT_EVERY);
        let Some(conn) = store.upgrade() else { return };
        // PASSIVE: copies what no reader still needs and never waits for the writer.
        if let Err(e) = checkpointer.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "SQLite checkpoint failed");
        }
        since_purge += CHECKPOINT_EVERY;
        if since_purge >= purge_every {
            since_purge = Duration::ZERO;
            if let Err(e) = purge(&conn, clock.now().millis()) {
                tracing::warn!(error = %e, "purging expired store entries failed");
            }
        }
    }
}

fn purge(conn: &Mutex<Connection>, now: i64) -> anyhow::Result<u64> {
    let mut purged = 0;
    for table in EXPIRING_TABLES {
        let sql = format!(
            "DELETE FROM {table} WHERE rowid IN \
             (SELECT rowid FROM {table} WHERE expires_at <= ?1 LIMIT {PURGE_CHUNK})"
        );
        loop {
            // The lock is taken per chunk, so requests slip in between.
            let conn = conn.lock().map_err(|_| anyhow!("store lock poisoned"))?;
            let deleted = match conn.prepare_cached(&sql)?.execute([now]) {
                Ok(deleted) => deleted,
                // Another writer holds the lock: the rest waits for the next round.
                Err(e) if is_busy(&e) => return Ok(purged),
                Err(e) => return Err(e.into()),
            };
            purged += deleted as u64;
            if deleted < PURGE_CHUNK {
                break;
            }
        }
    }
    Ok(purged)
}

fn put(
    txn: &Connection,
    key: &str,
    value: &[u8],
    ttl: Duration,
    now: i64,
) -> rusqlite::Result<usize> {
    let expires = now + ttl_millis(ttl);
    txn.prepare_cached(PUT)?
        .execute(params![key, value, expires])
}

fn put_if_absent(
    txn: &Connection,
    key: &str,
    value: &[u8],
    ttl: Duration,
    now: i64,
) -> rusqlite::Result<bool> {
    let stored = txn.prepare_cached(PUT_IF_ABSENT)?.execute(params![
        key,
        value,
        now + ttl_millis(ttl),
        now
    ])?;
    Ok(stored == 1)
}

fn get(conn: &Connection, key: &str, now: i64) -> rusqlite::Result<Option<Vec<u8>>> {
    conn.prepare_cached(GET)?
        .query_row(params![key, now], |row| row.get(0))
        .optional()
}

fn take(conn: &Connection, key: &str, now: i64) -> rusqlite::Result<Option<Vec<u8>>> {
    conn.prepare_cached(TAKE)?
        .query_row(params![key, now], |row| row.get(0))
        .optional()
}

fn apply(txn: &Connection, write: &Write, now: i64) -> rusqlite::Result<()> {
    match write {
        Write::Put { key, value, ttl } => put(txn, key, value, *ttl, now).map(drop),
        Write::PutIfAbsent { key, value, ttl } => {
            put_if_absent(txn, key, value, *ttl, now).map(drop)
        }
        Write::Delete { key } => txn.prepare_cached(DELETE)?.execute([key]).map(drop),
        Write::SetAdd { key, member, ttl } => txn
            .prepare_cached(SET_ADD)?
            .execute(params![key, member, now + ttl_millis(*ttl)])
            .map(drop),
    }
}

#[async_trait]
impl EphemeralStore for SqliteStore {
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> StoreResult<()> {
        let now = self.now();
        self.run("store put", |c| put(c, key, value, ttl, now))
            .await
            .map(drop)
    }

    async fn put_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> StoreResult<bool> {
        let now = self.now();
        self.run("store put_if_absent", |c| {
            put_if_absent(c, key, value, ttl, now)
        })
        .await
    }

    async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let now = self.now();
        self.run("store get", |c| get(c, key, now)).await
    }

    async fn put_if_present(&self, key: &str, value: &[u8], ttl: Duration) -> StoreResult<bool> {
        let now = self.now();
        let updated = self
            .run("store put_if_present", |c| {
                let mut statement = c.prepare_cached(PUT_IF_PRESENT)?;
                statement.execute(params![value, now + ttl_millis(ttl), key, now])
            })
            .await?;
        Ok(updated == 1)
    }

    async fn delete_if(&self, key: &str, value: &[u8]) -> StoreResult<bool> {
        let now = self.now();
        let deleted = self
            .run("store delete_if", |c| {
                c.prepare_cached(DELETE_IF)?
                    .execute(params![key, value, now])
            })
            .await?;
        Ok(deleted == 1)
    }

    async fn take(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let now = self.now();
        self.run("store take", |c| take(c, key, now)).await
    }

    async fn take_leaving(
        &self,
        key: &str,
        marker_key: &str,
        marker: &[u8],
        ttl: Duration,
    ) -> StoreResult<Option<Vec<u8>>> {
        let now = self.now();
        self.write("store take_leaving", |txn| {
            let Some(value) = take(txn, key, now)? else {
                return Ok(None);
            };
            put(txn, marker_key, marker, ttl, now)?;
            Ok(Some(value))
        })
        .await
    }

    async fn get_marking(
        &self,
        key: &str,
        marker_key: &str,
        marker: &[u8],
        ttl: Duration,
    ) -> StoreResult<Option<(Vec<u8>, bool)>> {
        let now = self.now();
        self.write("store get_marking", |txn| {
            let Some(value) = get(txn, key, now)? else {
                return Ok(None);
            };
            let stored = put_if_absent(txn, marker_key, marker, ttl, now)?;
            Ok(Some((value, stored)))
        })
        .await
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.run("store delete", |c| c.prepare_cached(DELETE)?.execute([key]))
            .await
            .map(drop)
    }

    async fn incr(&self, key: &str, ttl: Duration) -> StoreResult<i64> {
        let now = self.now();
        self.run("store incr", |c| {
            let values = params![key, Vec::<u8>::new(), now + ttl_millis(ttl), now];
            c.prepare_cached(INCR)?.query_row(values, |row| row.get(0))
        })
        .await
    }

    async fn counter(&self, key: &str) -> StoreResult<i64> {
        let now = self.now();
        let count = self
            .run("store counter", |c| {
                c.prepare_cached(COUNTER)?
                    .query_row(params![key, now], |row| row.get(0))
                    .optional()
            })
            .await?;
        Ok(count.unwrap_or(0))
    }

    async fn set_add(&self, key: &str, member: &str, ttl: Duration) -> StoreResult<()> {
        let write = Write::SetAdd {
            key: key.to_owned(),
            member: member.to_owned(),
            ttl,
        };
        let now = self.now();
        self.run("store set_add", |c| apply(c, &write, now)).await
    }

    async fn set_remove(&self, key: &str, member: &str) -> StoreResult<()> {
        self.run("store set_remove", |c| {
            c.prepare_cached(SET_REMOVE)?.execute(params![key, member])
        })
        .await
        .map(drop)
    }

    async fn set_members(&self, key: &str) -> StoreResult<Vec<String>> {
        let now = self.now();
        self.run("store set_members", |c| {
            c.prepare_cached(SET_MEMBERS)?
                .query_map(params![key, now], |row| row.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()
        })
        .await
    }

    async fn batch(&self, writes: &[Write]) -> StoreResult<()> {
        // One transaction: one commit for all of them.
        let now = self.now();
        self.write("store batch", |txn| {
            for write in writes {
                apply(txn, write, now)?;
            }
            Ok(Some(()))
        })
        .await?;
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        self.run("store ping", |c| c.query_row("SELECT 1", [], |_| Ok(())))
            .await
    }
}
