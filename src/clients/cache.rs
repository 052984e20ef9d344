//! Clients cached in-process for a few seconds, so a token request makes no database round
//! trip. Changes to a client take effect within the TTL (there is no admin API yet to
//! invalidate sooner).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::DatabaseConnection;

use super::{Client, store};
use crate::clock::{SharedClock, UnixTime};

/// When a lookup was made, and what it found (absence is cached too).
type Entry = (UnixTime, Option<Arc<Client>>);

pub struct ClientCache {
    ttl: Duration,
    clock: SharedClock,
    entries: Mutex<HashMap<String, Entry>>,
}

impl ClientCache {
    pub fn new(ttl: Duration, clock: SharedClock) -> Self {
        Self {
            ttl,
            clock,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The client (or its absence, also cached) as of at most `ttl` ago.
    pub async fn get(&self, db: &DatabaseConnection, id: &str) -> anyhow::Result<Option<Client>> {
        let now = self.clock.now();
        if let Ok(entries) = self.entries.lock() {
            if let Some((at, client)) = entries.get(id) {
                if now.since(*at) < self.ttl {
                    return Ok(client.as_deref().cloned());
                }
            }
        }
        let client = store::find(db, id).await?.map(Arc::new);
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() > 10_000 {
                entries.clear();
            }
            entries.insert(id.to_owned(), (now, client.clone()));
        }
        Ok(client.as_deref().cloned())
    }
}
