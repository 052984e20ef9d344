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
use crate::database::sqlite_in_place;

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

    /// Runs `work` in a write transaction (`BEGIN IMMEDIATE`: the write lock is taken up front,
    /// so a read inside cannot go stale before the write).
    fn write<T>(
        &self,
        what: &'static str,
        work: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<Option<T>>,
    ) -> StoreResult<Option<T>> {
        let mut conn = self.lock()?;
        let txn = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context(what)?;
        let out = work(&txn).context(what)?;
        // Nothing to keep when `work` found nothing: dropping the transaction rolls it back.
        if out.is_some() {
            txn.commit().context(what)?;
        }
        Ok(out)
    }
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
            let deleted = conn.prepare_cached(&sql)?.execute([now])?;
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
        put(&*self.lock()?, key, value, ttl, self.now()).context("store put")?;
        Ok(())
    }

    async fn put_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> StoreResult<bool> {
        let stored = put_if_absent(&*self.lock()?, key, value, ttl, self.now());
        Ok(stored.context("store put_if_absent")?)
    }

    async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        Ok(get(&*self.lock()?, key, self.now()).context("store get")?)
    }

    async fn put_if_present(&self, key: &str, value: &[u8], ttl: Duration) -> StoreResult<bool> {
        let now = self.now();
        let conn = self.lock()?;
        let run = conn
            .prepare_cached(PUT_IF_PRESENT)
            .and_then(|mut s| s.execute(params![value, now + ttl_millis(ttl), key, now]));
        Ok(run.context("store put_if_present")? == 1)
    }

    async fn delete_if(&self, key: &str, value: &[u8]) -> StoreResult<bool> {
        let now = self.now();
        let conn = self.lock()?;
        let run = conn
            .prepare_cached(DELETE_IF)
            .and_then(|mut s| s.execute(params![key, value, now]));
        Ok(run.context("store delete_if")? == 1)
    }

    async fn take(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        Ok(take(&*self.lock()?, key, self.now()).context("store take")?)
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
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        let conn = self.lock()?;
        let run = conn
            .prepare_cached(DELETE)
            .and_then(|mut s| s.execute([key]));
        run.context("store delete")?;
        Ok(())
    }

    async fn incr(&self, key: &str, ttl: Duration) -> StoreResult<i64> {
        let conn = self.lock()?;
        let now = self.now();
        let run = conn.prepare_cached(INCR).and_then(|mut s| {
            let values = params![key, Vec::<u8>::new(), now + ttl_millis(ttl), now];
            s.query_row(values, |row| row.get(0))
        });
        Ok(run.context("store incr")?)
    }

    async fn counter(&self, key: &str) -> StoreResult<i64> {
        let conn = self.lock()?;
        let run = conn.prepare_cached(COUNTER).and_then(|mut s| {
            s.query_row(params![key, self.now()], |row| row.get(0))
                .optional()
        });
        Ok(run.context("store counter")?.unwrap_or(0))
    }

    async fn set_add(&self, key: &str, member: &str, ttl: Duration) -> StoreResult<()> {
        let write = Write::SetAdd {
            key: key.to_owned(),
            member: member.to_owned(),
            ttl,
        };
        apply(&*self.lock()?, &write, self.now()).context("store set_add")?;
        Ok(())
    }

    async fn set_remove(&self, key: &str, member: &str) -> StoreResult<()> {
        let conn = self.lock()?;
        let run = conn
            .prepare_cached(SET_REMOVE)
            .and_then(|mut s| s.execute(params![key, member]));
        run.context("store set_remove")?;
        Ok(())
    }

    async fn set_members(&self, key: &str) -> StoreResult<Vec<String>> {
        let conn = self.lock()?;
        let run = conn.prepare_cached(SET_MEMBERS).and_then(|mut s| {
            s.query_map(params![key, self.now()], |row| row.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()
        });
        Ok(run.context("store set_members")?)
    }

    async fn batch(&self, writes: &[Write]) -> StoreResult<()> {
        // One transaction: one commit for all of them.
        let now = self.now();
        self.write("store batch", |txn| {
            for write in writes {
                apply(txn, write, now)?;
            }
            Ok(Some(()))
        })?;
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        let conn = self.lock()?;
        let run = conn.query_row("SELECT 1", [], |_| Ok(()));
        run.context("store ping")?;
        Ok(())
    }
}
