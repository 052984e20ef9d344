//! The built-in store: rows in `ephemeral_entries` of the main database (SQLite or Postgres),
//! so the embedded default needs no Redis and survives a restart.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement, Value};
use tokio::sync::{Mutex, MutexGuard};

use super::{EphemeralStore, StoreResult, Write, ttl_millis};
use crate::clock::SharedClock;

#[derive(Clone)]
pub struct SqlStore {
    db: DatabaseConnection,
    /// SQLite has one writer at a time, and a connection that finds the write lock taken
    /// sleeps in its busy handler (1, 2, 5… ms) before it retries. Writers queue here
    /// instead, in-process and without sleeping. Postgres locks rows, so it needs none.
    writer: Option<Arc<Mutex<()>>>,
    /// The store's time, by which entries expire: the wall clock in a server (as Redis keeps
    /// its own), a test clock in the contract tests.
    clock: SharedClock,
}

impl SqlStore {
    pub fn new(db: DatabaseConnection, clock: SharedClock) -> Self {
        let writer = (db.get_database_backend() == DatabaseBackend::Sqlite)
            .then(|| Arc::new(Mutex::new(())));
        Self { db, writer, clock }
    }

    fn now(&self) -> i64 {
        self.clock.now().millis()
    }

    /// Held for the duration of one write (statement or transaction).
    async fn write_turn(&self) -> Option<MutexGuard<'_, ()>> {
        match &self.writer {
            Some(lock) => Some(lock.lock().await),
            None => None,
        }
    }

    /// Deletes expired rows now and then; reads ignore them anyway.
    pub fn spawn_purger(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        tokio::spawn(async move {
            // Not at once: a start-up should not begin with a large delete.
            let mut tick = tokio::time::interval(every);
            tick.tick().await; // the first tick is at once
            loop {
                tick.tick().await;
                if let Err(e) = store.purge_expired().await {
                    tracing::warn!(error = %e, "purging expired store entries failed");
                }
            }
        })
    }

    pub async fn purge_expired(&self) -> anyhow::Result<u64> {
        let mut purged = 0;
        for table in EXPIRING_TABLES {
            let sql = format!("DELETE FROM {table} WHERE expires_at <= $1");
            let stmt = self.stmt(&sql, vec![self.now().into()]);
            let _turn = self.write_turn().await;
            purged += self.db.execute_raw(stmt).await?.rows_affected();
        }
        Ok(purged)
    }

    fn stmt(&self, sql: &str, values: Vec<Value>) -> Statement {
        Statement::from_sql_and_values(self.db.get_database_backend(), sql, values)
    }

    async fn returning_value(&self, stmt: Statement) -> StoreResult<Option<Vec<u8>>> {
        let row = self.db.query_one_raw(stmt).await.context("store query")?;
        Ok(row
            .map(|r| r.try_get_by_index::<Vec<u8>>(0))
            .transpose()
            .context("store row")?)
    }
}

pub(super) const PUT: &str = "INSERT INTO ephemeral_entries (key, value, counter, expires_at) VALUES ($1, $2, 0, $3) \
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, counter = 0, expires_at = excluded.expires_at";
/// An expired row counts as absent: overwrite it, but never a live one.
pub(super) const PUT_IF_ABSENT: &str = "INSERT INTO ephemeral_entries (key, value, counter, expires_at) VALUES ($1, $2, 0, $3) \
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, counter = 0, expires_at = excluded.expires_at \
    WHERE ephemeral_entries.expires_at <= $4";
pub(super) const DELETE: &str = "DELETE FROM ephemeral_entries WHERE key = $1";
/// Parameters are numbered in order of appearance: the in-place SQLite store binds them by
/// position, and SQLite numbers `$n` names as they first appear.
pub(super) const PUT_IF_PRESENT: &str = "UPDATE ephemeral_entries SET value = $1, counter = 0, \
    expires_at = $2 WHERE key = $3 AND expires_at > $4";
pub(super) const DELETE_IF: &str =
    "DELETE FROM ephemeral_entries WHERE key = $1 AND value = $2 AND expires_at > $3";
/// Each member keeps its own expiry, never shortened: one row per call, however large the
/// set (extending every member of a session's index made each write O(members)).
pub(super) const SET_ADD: &str = "INSERT INTO ephemeral_sets (key, member, expires_at) VALUES ($1, $2, $3) \
    ON CONFLICT (key, member) DO UPDATE SET expires_at = CASE \
    WHEN excluded.expires_at > ephemeral_sets.expires_at THEN excluded.expires_at \
    ELSE ephemeral_sets.expires_at END";
pub(super) const GET: &str =
    "SELECT value FROM ephemeral_entries WHERE key = $1 AND expires_at > $2";
/// One statement: the row lock (Postgres) or the write lock (SQLite) lets exactly one of
/// concurrent takers delete the row and see its value.
pub(super) const TAKE: &str =
    "DELETE FROM ephemeral_entries WHERE key = $1 AND expires_at > $2 RETURNING value";
/// A live counter goes up; an absent or expired one starts again at 1 with a new expiry.
pub(super) const INCR: &str = "INSERT INTO ephemeral_entries (key, value, counter, expires_at) VALUES ($1, $2, 1, $3) \
    ON CONFLICT (key) DO UPDATE SET \
    counter = CASE WHEN ephemeral_entries.expires_at <= $4 THEN 1 ELSE ephemeral_entries.counter + 1 END, \
    expires_at = CASE WHEN ephemeral_entries.expires_at <= $4 THEN excluded.expires_at ELSE ephemeral_entries.expires_at END \
    RETURNING counter";
pub(super) const COUNTER: &str =
    "SELECT counter FROM ephemeral_entries WHERE key = $1 AND expires_at > $2";
pub(super) const SET_REMOVE: &str = "DELETE FROM ephemeral_sets WHERE key = $1 AND member = $2";
pub(super) const SET_MEMBERS: &str =
    "SELECT member FROM ephemeral_sets WHERE key = $1 AND expires_at > $2 ORDER BY member";
/// Tables whose rows carry `expires_at` and are purged once past it.
pub(super) const EXPIRING_TABLES: [&str; 2] = ["ephemeral_entries", "ephemeral_sets"];

impl SqlStore {
    /// The statements one write needs.
    fn statements(&self, write: &Write) -> Vec<Statement> {
        let now = self.now();
        match write {
            Write::Put { key, value, ttl } => {
                vec![self.stmt(
                    PUT,
                    vec![
                        key.as_str().into(),
                        value.clone().into(),
                        (now + ttl_millis(*ttl)).into(),
                    ],
                )]
            }
            Write::PutIfAbsent { key, value, ttl } => vec![self.stmt(
                PUT_IF_ABSENT,
                vec![
                    key.as_str().into(),
                    value.clone().into(),
                    (now + ttl_millis(*ttl)).into(),
                    now.into(),
                ],
            )],
            Write::Delete { key } => vec![self.stmt(DELETE, vec![key.as_str().into()])],
            Write::SetAdd { key, member, ttl } => {
                let expires = now + ttl_millis(*ttl);
                vec![self.stmt(
                    SET_ADD,
                    vec![key.as_str().into(), member.as_str().into(), expires.into()],
                )]
            }
        }
    }
}

#[async_trait]
impl EphemeralStore for SqlStore {
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        let expires = self.now() + ttl_millis(ttl);
        let stmt = self.stmt(PUT, vec![key.into(), value.to_vec().into(), expires.into()]);
        self.db.execute_raw(stmt).await.context("store put")?;
        Ok(())
    }

    async fn put_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> StoreResult<bool> {
        let _turn = self.write_turn().await;
        let now = self.now();
        // An expired row counts as absent: overwrite it, but never a live one.
        let stmt = self.stmt(
            PUT_IF_ABSENT,
            vec![
                key.into(),
                value.to_vec().into(),
                (now + ttl_millis(ttl)).into(),
                now.into(),
            ],
        );
        let result = self
            .db
            .execute_raw(stmt)
            .await
            .context("store put_if_absent")?;
        Ok(result.rows_affected() == 1)
    }

    async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let stmt = self.stmt(GET, vec![key.into(), self.now().into()]);
        self.returning_value(stmt).await
    }

    async fn put_if_present(&self, key: &str, value: &[u8], ttl: Duration) -> StoreResult<bool> {
        let _turn = self.write_turn().await;
        let now = self.now();
        let values = vec![
            value.to_vec().into(),
            (now + ttl_millis(ttl)).into(),
            key.into(),
            now.into(),
        ];
        let stmt = self.stmt(PUT_IF_PRESENT, values);
        let done = self
            .db
            .execute_raw(stmt)
            .await
            .context("store put_if_present")?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_if(&self, key: &str, value: &[u8]) -> StoreResult<bool> {
        let _turn = self.write_turn().await;
        let values = vec![key.into(), value.to_vec().into(), self.now().into()];
        let stmt = self.stmt(DELETE_IF, values);
        let done = self.db.execute_raw(stmt).await.context("store delete_if")?;
        Ok(done.rows_affected() == 1)
    }

    async fn take(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let _turn = self.write_turn().await;
        let stmt = self.stmt(TAKE, vec![key.into(), self.now().into()]);
        self.returning_value(stmt).await
    }

    async fn take_leaving(
        &self,
        key: &str,
        marker_key: &str,
        marker: &[u8],
        ttl: Duration,
    ) -> StoreResult<Option<Vec<u8>>> {
        let _turn = self.write_turn().await;
        let txn = crate::database::begin_write(&self.db)
            .await
            .context("store take_leaving")?;
        let take = self.stmt(TAKE, vec![key.into(), self.now().into()]);
        let row = txn
            .query_one_raw(take)
            .await
            .context("store take_leaving")?;
        let value = row
            .map(|r| r.try_get_by_index::<Vec<u8>>(0))
            .transpose()
            .context("store row")?;
        if value.is_some() {
            let put = Write::Put {
                key: marker_key.to_owned(),
                value: marker.to_vec(),
                ttl,
            };
            for stmt in self.statements(&put) {
                txn.execute_raw(stmt).await.context("store take_leaving")?;
            }
        }
        txn.commit().await.context("store take_leaving")?;
        Ok(value)
    }

    async fn get_marking(
        &self,
        key: &str,
        marker_key: &str,
        marker: &[u8],
        ttl: Duration,
    ) -> StoreResult<Option<(Vec<u8>, bool)>> {
        let _turn = self.write_turn().await;
        let txn = crate::database::begin_write(&self.db)
            .await
            .context("store get_marking")?;
        let now = self.now();
        let get = self.stmt(GET, vec![key.into(), now.into()]);
        let row = txn.query_one_raw(get).await.context("store get_marking")?;
        let Some(value) = row
            .map(|r| r.try_get_by_index::<Vec<u8>>(0))
            .transpose()
            .context("store row")?
        else {
            return Ok(None);
        };
        // Concurrent callers meet at the marker's row: one inserts, the rest find it live.
        let put = self.stmt(
            PUT_IF_ABSENT,
            vec![
                marker_key.into(),
                marker.to_vec().into(),
                (now + ttl_millis(ttl)).into(),
                now.into(),
            ],
        );
        let stored = txn
            .execute_raw(put)
            .await
            .context("store get_marking")?
            .rows_affected()
            == 1;
        txn.commit().await.context("store get_marking")?;
        Ok(Some((value, stored)))
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        let stmt = self.stmt(DELETE, vec![key.into()]);
        self.db.execute_raw(stmt).await.context("store delete")?;
        Ok(())
    }

    async fn incr(&self, key: &str, ttl: Duration) -> StoreResult<i64> {
        let _turn = self.write_turn().await;
        let now = self.now();
        let stmt = self.stmt(
            INCR,
            vec![
                key.into(),
                Vec::<u8>::new().into(),
                (now + ttl_millis(ttl)).into(),
                now.into(),
            ],
        );
        let row = self.db.query_one_raw(stmt).await.context("store incr")?;
        let row = row.context("store incr returned no row")?;
        Ok(row.try_get_by_index::<i64>(0).context("store incr row")?)
    }

    async fn counter(&self, key: &str) -> StoreResult<i64> {
        let stmt = self.stmt(COUNTER, vec![key.into(), self.now().into()]);
        let row = self.db.query_one_raw(stmt).await.context("store counter")?;
        let count = row.map(|r| r.try_get_by_index::<i64>(0)).transpose();
        Ok(count.context("store counter row")?.unwrap_or(0))
    }

    async fn set_add(&self, key: &str, member: &str, ttl: Duration) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        let expires = self.now() + ttl_millis(ttl);
        let insert = self.stmt(SET_ADD, vec![key.into(), member.into(), expires.into()]);
        self.db.execute_raw(insert).await.context("store set_add")?;
        Ok(())
    }

    async fn set_remove(&self, key: &str, member: &str) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        let stmt = self.stmt(SET_REMOVE, vec![key.into(), member.into()]);
        self.db
            .execute_raw(stmt)
            .await
            .context("store set_remove")?;
        Ok(())
    }

    async fn set_members(&self, key: &str) -> StoreResult<Vec<String>> {
        let stmt = self.stmt(SET_MEMBERS, vec![key.into(), self.now().into()]);
        let rows = self
            .db
            .query_all_raw(stmt)
            .await
            .context("store set_members")?;
        let members = rows
            .iter()
            .map(|r| r.try_get_by_index::<String>(0))
            .collect::<Result<Vec<_>, _>>()
            .context("store set row")?;
        Ok(members)
    }

    async fn batch(&self, writes: &[Write]) -> StoreResult<()> {
        let _turn = self.write_turn().await;
        // One transaction: one commit (and fsync) for all of them.
        let txn = crate::database::begin_write(&self.db)
            .await
            .context("store batch")?;
        for write in writes {
            for stmt in self.statements(write) {
                txn.execute_raw(stmt).await.context("store batch")?;
            }
        }
        txn.commit().await.context("store batch")?;
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        self.db.ping().await.context("store ping")?;
        Ok(())
    }
}
