//! The production store: Redis via deadpool-redis, shared by every Gatehouse instance; one
//! server, a Sentinel-watched master or a cluster (`redis.mode`, see [`connect`]).

mod batch;
mod connect;
mod scripts;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use deadpool_redis::redis::{self, AsyncCommands};

use self::connect::{Conn, Pools};
use super::{EphemeralStore, StoreError, StoreResult, Write, ttl_millis};
use crate::settings::RedisSettings;

/// deadpool-redis makes and health-checks connections, but checks every checkout with a
/// `PING` round trip, which would double the round trips of every store call. Its
/// connections are multiplexed (they pipeline concurrent commands), so the store keeps one
/// checked-out connection and shares clones of it; after a connection error it drops that
/// one and the idle ones, and the next call takes (and so re-checks, or makes) a connection
/// from the pool: in Sentinel mode a new one goes to whichever node the sentinels now name
/// master, so a failover is followed without a restart.
#[derive(Clone)]
pub struct RedisStore {
    pools: Arc<Pools>,
    shared: Arc<Mutex<Option<Conn>>>,
    prefix: String,
    timeout: Duration,
}

impl RedisStore {
    /// Builds the pool of `settings.mode` on `settings.url`; connections are made lazily,
    /// so a Redis that is down at start shows up in `/readyz` instead of stopping the process.
    pub fn connect(settings: &RedisSettings) -> anyhow::Result<Self> {
        Ok(Self {
            pools: Arc::new(Pools::new(settings)?),
            shared: Arc::default(),
            prefix: settings.key_prefix.clone(),
            timeout: Duration::from_millis(settings.timeout_ms),
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }

    /// The shared connection, or a fresh one from the pool when there is none.
    async fn connection(&self) -> anyhow::Result<Conn> {
        if let Some(conn) = self.lock_shared().as_ref() {
            return Ok(conn.clone());
        }
        let conn = self.pools.get().await?;
        *self.lock_shared() = Some(conn.clone());
        Ok(conn)
    }

    fn lock_shared(&self) -> std::sync::MutexGuard<'_, Option<Conn>> {
        // The guarded value is a plain Option: a panic elsewhere cannot leave it half-written.
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs one command (or pipeline) with a deadline, so a hung Redis becomes a 503, not a hang.
    /// `SET key value PX ttl NX|XX`: whether the value was written under that condition.
    async fn set_when(
        &self,
        what: &'static str,
        (key, value, ttl): (&str, &[u8], Duration),
        condition: &'static str,
    ) -> StoreResult<bool> {
        let (key, ms) = (self.key(key), ttl_millis(ttl));
        let reply: Option<String> = self
            .run(what, |mut c| async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(value)
                    .arg("PX")
                    .arg(ms)
                    .arg(condition)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        Ok(reply.is_some())
    }

    async fn run<T, F, Fut>(&self, what: &'static str, op: F) -> StoreResult<T>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let work = async {
            let conn = self.connection().await?;
            op(conn).await.context(what)
        };
        let result = match tokio::time::timeout(self.timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(anyhow::anyhow!("redis {what} timed out")),
        };
        if result.is_err() {
            // The connection may be broken; the next call checks out a fresh one.
            self.lock_shared().take();
            self.pools.forget_idle();
        }
        result.map_err(StoreError)
    }

    /// Runs a Lua script over a key and a marker key (KEYS[1], KEYS[2], one hash tag) with
    /// the marker's value and lifetime in ms (ARGV[1], ARGV[2]): one atomic round trip.
    async fn eval_with_marker<T: redis::FromRedisValue>(
        &self,
        what: &'static str,
        script: &'static str,
        (key, marker_key): (&str, &str),
        marker: &[u8],
        ttl: Duration,
    ) -> StoreResult<T> {
        let (key, marker_key, ms) = (self.key(key), self.key(marker_key), ttl_millis(ttl));
        self.run(what, |mut c| async move {
            redis::cmd("EVAL")
                .arg(script)
                .arg(2)
                .arg(key)
                .arg(marker_key)
                .arg(marker)
                .arg(ms)
                .query_async(&mut c)
                .await
        })
        .await
    }

    /// Deletes every key under this store's prefix (tests use one prefix each).
    pub async fn clear_prefix(&self) -> StoreResult<()> {
        let pattern = format!("{}*", self.prefix);
        self.run("clear", |mut c| async move {
            connect::delete_matching(&mut c, &pattern).await
        })
        .await
    }
}

#[async_trait]
impl EphemeralStore for RedisStore {
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> StoreResult<()> {
        let (key, ms) = (self.key(key), ttl_millis(ttl));
        self.run("put", |mut c| async move {
            redis::cmd("SET")
                .arg(key)
                .arg(value)
                .arg("PX")
                .arg(ms)
                .query_async(&mut c)
                .await
        })
        .await
    }

    async fn put_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> StoreResult<bool> {
        self.set_when("put_if_absent", (key, value, ttl), "NX")
            .await
    }

    async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let key = self.key(key);
        self.run("get", |mut c| async move { c.get(key).await })
            .await
    }

    async fn put_if_present(&self, key: &str, value: &[u8], ttl: Duration) -> StoreResult<bool> {
        self.set_when("put_if_present", (key, value, ttl), "XX")
            .await
    }

    async fn delete_if(&self, key: &str, value: &[u8]) -> StoreResult<bool> {
        let key = self.key(key);
        let deleted: i64 = self
            .run("delete_if", |mut c| async move {
                redis::cmd("EVAL")
                    .arg(scripts::DELETE_IF)
                    .arg(1)
                    .arg(key)
                    .arg(value)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        Ok(deleted == 1)
    }

    async fn take(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let key = self.key(key);
        self.run("take", |mut c| async move {
            redis::cmd("GETDEL").arg(key).query_async(&mut c).await
        })
        .await
    }

    async fn take_leaving(
        &self,
        key: &str,
        marker_key: &str,
        marker: &[u8],
        ttl: Duration,
    ) -> StoreResult<Option<Vec<u8>>> {
        let keys = (key, marker_key);
        self.eval_with_marker("take_leaving", scripts::TAKE_LEAVING, keys, marker, ttl)
            .await
    }

    async fn get_marking(
        &self,
        key: &str,
        marker_key: &str,
        marker: &[u8],
        ttl: Duration,
    ) -> StoreResult<Option<(Vec<u8>, bool)>> {
        let keys = (key, marker_key);
        let reply: Option<(Vec<u8>, i64)> = self
            .eval_with_marker("get_marking", scripts::GET_MARKING, keys, marker, ttl)
            .await?;
        Ok(reply.map(|(value, stored)| (value, stored == 1)))
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        let key = self.key(key);
        self.run("delete", |mut c| async move { c.del(key).await })
            .await
    }

    async fn incr(&self, key: &str, ttl: Duration) -> StoreResult<i64> {
        let (key, ms) = (self.key(key), ttl_millis(ttl));
        let (count,): (i64,) = self
            .run("incr", |mut c| async move {
                redis::pipe()
                    .atomic()
                    .incr(&key, 1)
                    .cmd("PEXPIRE")
                    .arg(&key)
                    .arg(ms)
                    .arg("NX")
                    .ignore()
                    .query_async(&mut c)
                    .await
            })
            .await?;
        Ok(count)
    }

    async fn counter(&self, key: &str) -> StoreResult<i64> {
        let key = self.key(key);
        let count: Option<i64> = self
            .run("counter", |mut c| async move { c.get(&key).await })
            .await?;
        Ok(count.unwrap_or(0))
    }

    /// One pipeline: `INCR` + `PEXPIRE … NX` (or a `GET`) of the current window and a `GET`
    /// of the previous one.
    async fn window(
        &self,
        current: &str,
        previous: &str,
        ttl: Duration,
        count: bool,
    ) -> StoreResult<(i64, i64)> {
        let (current, previous, ms) = (self.key(current), self.key(previous), ttl_millis(ttl));
        let (now, before): (Option<i64>, Option<i64>) = self
            .run("window", |mut c| async move {
                let mut pipe = redis::pipe();
                if count {
                    pipe.incr(&current, 1)
                        .cmd("PEXPIRE")
                        .arg(&current)
                        .arg(ms)
                        .arg("NX")
                        .ignore();
                } else {
                    pipe.get(&current);
                }
                pipe.get(&previous).query_async(&mut c).await
            })
            .await?;
        Ok((now.unwrap_or(0), before.unwrap_or(0)))
    }

    async fn set_add(&self, key: &str, member: &str, ttl: Duration) -> StoreResult<()> {
        let (key, ms) = (self.key(key), ttl_millis(ttl));
        self.run("set_add", |mut c| async move {
            redis::pipe()
                .atomic()
                .sadd(&key, member)
                .ignore()
                .cmd("PEXPIRE")
                .arg(&key)
                .arg(ms)
                .arg("GT")
                .ignore()
                .cmd("PEXPIRE")
                .arg(&key)
                .arg(ms)
                .arg("NX")
                .ignore()
                .query_async(&mut c)
                .await
        })
        .await
    }

    async fn set_remove(&self, key: &str, member: &str) -> StoreResult<()> {
        let key = self.key(key);
        self.run(
            "set_remove",
            |mut c| async move { c.srem(key, member).await },
        )
        .await
    }

    async fn set_members(&self, key: &str) -> StoreResult<Vec<String>> {
        let key = self.key(key);
        self.run("set_members", |mut c| async move { c.smembers(key).await })
            .await
    }

    async fn batch(&self, writes: &[Write]) -> StoreResult<()> {
        let key = |k: &str| self.key(k);
        for pipe in batch::transactions(writes, key, self.pools.is_cluster()) {
            self.run("batch", |mut c| async move {
                pipe.query_async::<()>(&mut c).await
            })
            .await?;
        }
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        self.run("ping", |mut c| async move {
            redis::cmd("PING").query_async::<()>(&mut c).await
        })
        .await
    }
}
