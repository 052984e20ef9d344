//! On PostgreSQL, key changes arrive as notifications (migration 20's trigger on
//! `signing_keys`): a rotation or a revocation made by any instance or by the CLI is taken
//! up within milliseconds instead of at the next poll. The poll stays, for SQLite, for a
//! lost connection and for keys whose time to sign or to leave the JWKS comes without a
//! write; a notification only makes the same read sooner, so a lost one costs nothing.

use std::sync::Weak;
use std::time::Duration;

use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{DatabaseBackend, DatabaseConnection};

use super::KeyRing;
use crate::clock::SharedClock;

/// The channel migration 20's trigger notifies.
const CHANNEL: &str = "gatehouse_signing_keys";

/// Follows the notifications until the key ring is dropped; nothing on other databases.
pub(super) fn follow(ring: Weak<KeyRing>, db: DatabaseConnection, clock: SharedClock) {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        return;
    }
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        while ring.strong_count() > 0 {
            match subscribe(&db).await {
                Ok(mut listener) => {
                    backoff = Duration::from_millis(100);
                    while listener.recv().await.is_ok() {
                        let Some(ring) = ring.upgrade() else { return };
                        if let Err(e) = ring.refresh(&db, clock.now()).await {
                            tracing::warn!(
                                error = format!("{e:#}"),
                                "cannot read the signing keys"
                            );
                        }
                    }
                }
                Err(e) => tracing::debug!(error = %e, "signing key notifications unavailable"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    });
}

async fn subscribe(db: &DatabaseConnection) -> Result<PgListener, sea_orm::sqlx::Error> {
    let mut listener = PgListener::connect_with(db.get_postgres_connection_pool()).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}
