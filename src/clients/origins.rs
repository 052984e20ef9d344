//! The origins browser clients may call the API from (CORS): those of registered redirect
//! URIs and web origins, reloaded at most every 2 seconds (so a new client's origin works
//! that soon). A failed reload is not cached.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::DatabaseConnection;

use super::store;
use crate::clock::{SharedClock, UnixTime};

const REFRESH_EVERY: Duration = Duration::from_secs(2);

pub struct AllowedOrigins {
    db: DatabaseConnection,
    clock: SharedClock,
    cached: Mutex<Option<(UnixTime, Arc<HashSet<String>>)>>,
}

impl AllowedOrigins {
    pub fn new(db: DatabaseConnection, clock: SharedClock) -> Self {
        Self {
            db,
            clock,
            cached: Mutex::new(None),
        }
    }

    /// Whether `origin` belongs to a registered client. When the database cannot say, the
    /// answer is no for this request only: the next one asks again.
    pub async fn allows(&self, origin: &str) -> bool {
        match self.current().await {
            Ok(set) => set.contains(origin),
            Err(e) => {
                tracing::warn!(error = format!("{e:#}"), "cannot load CORS origins");
                false
            }
        }
    }

    async fn current(&self) -> anyhow::Result<Arc<HashSet<String>>> {
        let now = self.clock.now();
        if let Ok(guard) = self.cached.lock() {
            if let Some((at, set)) = guard.as_ref() {
                if now.since(*at) < REFRESH_EVERY {
                    return Ok(set.clone());
                }
            }
        }
        let set = Arc::new(store::origins(&self.db).await?);
        if let Ok(mut guard) = self.cached.lock() {
            *guard = Some((now, set.clone()));
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::Database;

    use super::*;
    use crate::clock::{self, Clock};

    fn client() -> crate::clients::Client {
        crate::clients::Client::public("spa", "SPA", vec!["https://app.example/cb".into()])
    }

    #[tokio::test]
    async fn a_failed_lookup_is_not_cached() {
        // One connection, so the in-memory database is the same for every query.
        let mut options = crate::database::pool_options("sqlite::memory:");
        options.max_connections(1);
        let db = Database::connect(options).await.unwrap();
        let origins = AllowedOrigins::new(db.clone(), clock::system());

        // No tables yet: the lookup fails, and the answer is no.
        assert!(!origins.allows("https://app.example").await);

        crate::database::migrate(&db).await.unwrap();
        let now = clock::SystemClock.now();
        crate::clients::store::insert_if_absent(&db, &client(), now)
            .await
            .unwrap();
        assert!(
            origins.allows("https://app.example").await,
            "the next request asks again instead of a cached empty set"
        );
        assert!(!origins.allows("https://evil.example").await);
    }
}
