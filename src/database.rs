//! Connecting to the database (SQLite file or PostgreSQL) and migrating it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use secrecy::ExposeSecret;

use crate::settings::{DatabaseKind, DatabaseSettings};

pub async fn connect(settings: &DatabaseSettings) -> anyhow::Result<DatabaseConnection> {
    let kind = settings.kind()?;
    let mut options = ConnectOptions::new(settings.url.expose_secret().to_owned());
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
