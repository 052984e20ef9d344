//! Clients cached in-process for a few seconds, so a token request makes no database round
//! trip. Changes to a client take effect within the TTL (there is no admin API yet to
//! invalidate sooner).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::DatabaseConnection;

use super::{Client, store};

/// When a lookup was made, and what it found (absence is cached too).
type Entry = (Instant, Option<Arc<Client>>);

pub struct ClientCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, Entry>>,
}

impl ClientCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The client (or its absence, also cached) as of at most `ttl` ago.
    pub async fn get(&self, db: &DatabaseConnection, id: &str) -> anyhow::Result<Option<Client>> {
        if let Ok(entries) = self.entries.lock() {
            if let Some((at, client)) = entries.get(id) {
                if at.elapsed() < self.ttl {
                    return Ok(client.as_deref().cloned());
                }
            }
        }
        let client = store::find(db, id).await?.map(Arc::new);
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() > 10_000 {
                entries.clear();
            }
            entries.insert(id.to_owned(), (Instant::now(), client.clone()));
        }
        Ok(client.as_deref().cloned())
    }
}
