//! Connecting to the database (SQLite file or PostgreSQL) and migrating it.

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
        .sqlx_logging(false);
    if kind == DatabaseKind::Sqlite {
        // One writer at a time is SQLite's model; a small pool avoids lock storms.
        options.max_connections(settings.max_connections.min(4));
    }
    let db = Database::connect(options)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to the database: {e}"))?;
    if kind == DatabaseKind::Sqlite {
        use sea_orm::ConnectionTrait;
        // WAL lets readers run beside the writer; busy_timeout waits instead of failing.
        db.execute_unprepared(
            "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON;",
        )
        .await
        .context("configuring SQLite")?;
    }
    Ok(db)
}

pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None)
        .await
        .context("running database migrations")
}
