//! Clients cached in-process for a second ([`FRESH_FOR`]), so a token request makes no
//! database round trip while a busy client costs one lookup a second per instance. An
//! operator's change (`gatehouse client …`, the admin API) so reaches every instance within
//! that second without a notification channel. Absence is cached too, under ids
//! anyone can choose, so the cache is bounded by size (evicting the least useful entries)
//! and ids that cannot be client ids are never looked up.

use std::sync::Arc;
use std::time::Duration;

use quick_cache::sync::Cache;
use sea_orm::DatabaseConnection;

use super::{Client, ClientId, store};
use crate::clock::{SharedClock, UnixTime};

/// When a lookup was made, and what it found.
type Entry = (UnixTime, Option<Arc<Client>>);

/// How long a lookup is believed.
pub const FRESH_FOR: Duration = Duration::from_secs(1);

/// How many lookups are remembered at most.
pub const CAPACITY: usize = 10_000;

pub struct ClientCache {
    ttl: Duration,
    clock: SharedClock,
    entries: Cache<String, Entry>,
}

impl ClientCache {
    pub fn new(ttl: Duration, clock: SharedClock) -> Self {
        Self {
            ttl,
            clock,
            entries: Cache::new(CAPACITY),
        }
    }

    /// The client (or its absence) as of at most `ttl` ago. An id longer than 255 bytes or
    /// with control characters names no client and is neither looked up nor remembered.
    pub async fn get(&self, db: &DatabaseConnection, id: &str) -> anyhow::Result<Option<Client>> {
        if ClientId::parse(id).is_none() {
            return Ok(None);
        }
        let now = self.clock.now();
        if let Some((at, client)) = self.entries.get(id) {
            if now.since(at) < self.ttl {
                return Ok(client.as_deref().cloned());
            }
        }
        let client = store::find(db, id).await?.map(Arc::new);
        self.entries.insert(id.to_owned(), (now, client.clone()));
        Ok(client.as_deref().cloned())
    }

    /// How many lookups are remembered now.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock;

    #[tokio::test]
    async fn unknown_ids_never_grow_the_cache_past_its_bound() {
        let mut options = crate::database::pool_options("sqlite::memory:");
        options.max_connections(1);
        let db = sea_orm::Database::connect(options).await.unwrap();
        crate::database::migrate(&db).await.unwrap();
        let cache = ClientCache::new(Duration::from_secs(10), clock::system());

        for i in 0..(CAPACITY * 2) {
            assert!(
                cache
                    .get(&db, &format!("unknown-{i}"))
                    .await
                    .unwrap()
                    .is_none()
            );
        }
        assert!(cache.get(&db, &"x".repeat(300)).await.unwrap().is_none());

        assert!(cache.len() <= CAPACITY, "{} entries", cache.len());
    }
}
