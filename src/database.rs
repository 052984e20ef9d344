//! Connecting to the database (SQLite file or PostgreSQL) and migrating it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx;
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbErr, RuntimeErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use secrecy::ExposeSecret;

use crate::settings::{DatabaseKind, DatabaseSettings};

/// Pool options for `url` without sqlx's pool maintenance task. That task (spawned only when
/// an idle timeout or a maximum lifetime is set, as sqlx does by default) takes the idle
/// count once per round and loops that many times without yielding; in sqlx 0.9.0 the count
/// can be read mid-update as `usize::MAX` while a connection is released, and the task then
/// spins forever on a runtime worker (seen in a thread dump: `spawn_maintenance_tasks`
/// cycling through `try_acquire` and `release`). Without it idle connections are not reaped,
/// which a pool bounded by `max_connections` does not need, and a connection that died while
/// idle is found by the ping before reuse (`test_before_acquire_if_idle_for` below).
pub fn pool_options(url: &str) -> ConnectOptions {
    let mut options = ConnectOptions::new(url.to_owned());
    options.idle_timeout(None).max_lifetime(None);
    options
}

/// Starts a transaction that will write. On SQLite it is `BEGIN IMMEDIATE`: the write lock is
/// taken up front, waiting (busy_timeout) behind another writer. A deferred transaction
/// starts as a reader and upgrades at its first write; when another connection committed in
/// between, that upgrade fails at once with `SQLITE_BUSY_SNAPSHOT` (517, "database is
/// locked"), which no timeout waits out. PostgreSQL ignores the mode.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    };
    db.begin_with_options(options).await
}

pub async fn connect(settings: &DatabaseSettings) -> anyhow::Result<DatabaseConnection> {
    let kind = settings.kind()?;
    let mut options = pool_options(settings.url.expose_secret());
    let timeout = Duration::from_secs(settings.connect_timeout_secs);
    options
        .max_connections(settings.max_connections)
        .connect_timeout(timeout)
        .acquire_timeout(timeout)
        .sqlx_logging(false)
        // sqlx pings every connection it hands out by default: a second round trip for each
        // query. Only a connection idle this long (one a restart or a proxy may have dropped)
        // is pinged; a busy one that broke fails its query (a 503) and is replaced.
        .test_before_acquire_if_idle_for(Duration::from_secs(1));
    if kind == DatabaseKind::Sqlite {
        // One writer at a time is SQLite's model; a small pool avoids lock storms. Pragmas are
        // per connection, so they go into the connect options: WAL lets readers run beside the
        // writer; synchronous=NORMAL in WAL mode survives a process crash intact (only a power
        // loss can drop the last commits, per SQLite's docs); busy_timeout waits, not fails.
        use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
        options
            .max_connections(settings.max_connections.min(4))
            .map_sqlx_sqlite_opts(|o| {
                o.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(5))
                    .foreign_keys(true)
            });
    }
    let db = Database::connect(options)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to the database: {e}"))?;
    Ok(db)
}

/// Times and counts every statement the pool runs (`database_query_duration_seconds`,
/// `database_errors_total`), by its kind; sea-orm measures, so nothing wraps the queries.
/// The connections the embedded store and the user-status cache keep of their own are not
/// counted here (the store's calls are, as store calls).
pub fn observe(db: &mut DatabaseConnection, metrics: &crate::metrics::Metrics) {
    let backend = match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => "postgres",
        _ => "sqlite",
    };
    let handles = metrics.database(backend);
    db.set_metric_callback(move |info| {
        let op = crate::metrics::DbOp::of_sql(&info.statement.sql);
        handles.observe(op, info.elapsed, info.failed);
    });
}

pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None)
        .await
        .context("running database migrations")
}

/// On SQLite, folds the write-ahead log back into the database at shutdown, so the next
/// start does not replay a large WAL before it can answer.
pub async fn checkpoint(db: &DatabaseConnection) {
    use sea_orm::{ConnectionTrait, DatabaseBackend};
    if db.get_database_backend() == DatabaseBackend::Sqlite {
        if let Err(e) = db
            .execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
            .await
        {
            tracing::warn!(error = %e, "SQLite checkpoint at shutdown failed");
        }
    }
}

/// The database file behind a `sqlite:` URL, or `None` for an in-memory database (which
/// another connection could not share).
pub fn sqlite_file(url: &str) -> anyhow::Result<Option<PathBuf>> {
    use sea_orm::sqlx::sqlite::SqliteConnectOptions;
    let options: SqliteConnectOptions = url.parse().context("parsing the SQLite URL")?;
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    Ok((!in_memory).then(|| options.get_filename().to_path_buf()))
}

/// A connection of our own to the (migrated) SQLite file, for work on the request path that
/// runs in place: sqlx runs every SQLite statement on a worker thread and answers over a
/// channel, two thread switches per statement, which on one core cost more than the
/// statement. The same durability as the pool: WAL, synchronous=NORMAL. It never checkpoints
/// on commit (a checkpoint syncs the file and must not stall a request); the store's
/// maintenance thread does.
pub fn sqlite_in_place(path: &Path) -> anyhow::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path)
        .with_context(|| format!("opening {} in place", path.display()))?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    Ok(conn)
}

/// The database could not be reached: connection refused or lost, the pool exhausted or
/// closed, the server shutting down or too busy. Set once, here, where database errors are
/// wrapped; every caller turns it into 503 `temporarily_unavailable` and retries later.
#[derive(Debug, thiserror::Error)]
#[error("database unavailable: {0}")]
pub struct DatabaseUnavailable(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// `.context()` for database results that also records whether the failure is an outage.
pub trait DbContext<T> {
    fn db_context(self, doing: &'static str) -> anyhow::Result<T>;
}

impl<T> DbContext<T> for Result<T, DbErr> {
    fn db_context(self, doing: &'static str) -> anyhow::Result<T> {
        self.map_err(|e| db_error(e).context(doing))
    }
}

/// A database error as `anyhow`, typed [`DatabaseUnavailable`] when it is an outage.
pub fn db_error(error: DbErr) -> anyhow::Error {
    if is_unreachable(&error) {
        anyhow::Error::new(DatabaseUnavailable(Box::new(error)))
    } else {
        anyhow::Error::new(error)
    }
}

/// The same for our own in-place SQLite connections: busy or locked past the busy timeout.
pub fn rusqlite_error(error: rusqlite::Error) -> anyhow::Error {
    use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
    match error.sqlite_error_code() {
        Some(DatabaseBusy | DatabaseLocked) => {
            anyhow::Error::new(DatabaseUnavailable(Box::new(error)))
        }
        _ => anyhow::Error::new(error),
    }
}

fn is_unreachable(error: &DbErr) -> bool {
    match error {
        DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            sqlx_unreachable(e)
        }
        _ => false,
    }
}

/// By variant, and for errors the server returned, by SQLSTATE class: 08 (connection
/// exception), 57P (operator intervention: shutdown), 53 (insufficient resources); on SQLite,
/// BUSY and LOCKED (primary result codes 5 and 6).
fn sqlx_unreachable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(e) => e.code().is_some_and(|code| {
            let sqlite_busy = code.parse::<i32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6));
            code.starts_with("08")
                || code.starts_with("57P")
                || code.starts_with("53")
                || sqlite_busy
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_connections_are_outages_and_bad_queries_are_not() {
        let lost = DbErr::Query(RuntimeErr::SqlxError(std::sync::Arc::new(sqlx::Error::Io(
            std::io::Error::from(std::io::ErrorKind::ConnectionReset),
        ))));
        assert!(db_error(lost).is::<DatabaseUnavailable>());
        let timed_out = DbErr::Exec(RuntimeErr::SqlxError(std::sync::Arc::new(
            sqlx::Error::PoolTimedOut,
        )));
        assert!(db_error(timed_out).is::<DatabaseUnavailable>());
        let bad = DbErr::Query(RuntimeErr::SqlxError(std::sync::Arc::new(
            sqlx::Error::RowNotFound,
        )));
        assert!(!db_error(bad).is::<DatabaseUnavailable>());
        assert!(!db_error(DbErr::Custom("connection".into())).is::<DatabaseUnavailable>());
    }
}
