//! Connections for each `redis.mode`: one server, the master the sentinels name, or a
//! cluster (commands routed by key slot). Either way a connection is multiplexed: it
//! pipelines concurrent commands, so the store shares one and replaces it after an error.

use std::time::Duration;

use anyhow::Context;
use deadpool_redis::redis::aio::{ConnectionLike, MultiplexedConnection};
use deadpool_redis::redis::cluster_async::ClusterConnection;
use deadpool_redis::redis::{self, Cmd, Pipeline, RedisFuture, Value};
use deadpool_redis::sentinel::{SentinelNodeConnectionInfo, SentinelServerType};
use deadpool_redis::{PoolConfig, RedisConnectionInfo, Runtime, Timeouts};
use secrecy::ExposeSecret;

use crate::settings::{RedisMode, RedisSettings};

/// The pool of the configured mode.
pub(super) enum Pools {
    Standalone(deadpool_redis::Pool),
    Sentinel(deadpool_redis::sentinel::Pool),
    Cluster(deadpool_redis::cluster::Pool),
}

/// A connection of any mode; cheap to clone (the clones share one socket per node).
#[derive(Clone)]
pub(super) enum Conn {
    Node(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl Pools {
    /// Builds the pool; connections are made lazily, so a Redis that is down at start
    /// shows up in `/readyz` instead of stopping the process.
    pub fn new(settings: &RedisSettings) -> anyhow::Result<Self> {
        let timeout = Duration::from_millis(settings.timeout_ms);
        let pool = Some(PoolConfig {
            max_size: settings.pool_size,
            timeouts: Timeouts {
                wait: Some(timeout),
                create: Some(timeout),
                recycle: Some(timeout),
            },
            ..PoolConfig::default()
        });
        let urls = settings.urls();
        let invalid = "invalid configuration: redis.url";
        Ok(match settings.mode {
            RedisMode::Standalone => {
                let url = urls.first().context(invalid)?;
                let mut config = deadpool_redis::Config::from_url(url);
                config.pool = pool;
                Self::Standalone(config.create_pool(Some(Runtime::Tokio1)).context(invalid)?)
            }
            RedisMode::Sentinel => {
                let master = settings.sentinel_master.clone();
                let mut config = deadpool_redis::sentinel::Config::from_urls(
                    urls,
                    master,
                    SentinelServerType::Master,
                )
                .with_node_connection_info(node_info(settings));
                config.pool = pool;
                Self::Sentinel(config.create_pool(Some(Runtime::Tokio1)).context(invalid)?)
            }
            RedisMode::Cluster => {
                let mut config = deadpool_redis::cluster::Config::from_urls(urls);
                config.pool = pool;
                Self::Cluster(config.create_pool(Some(Runtime::Tokio1)).context(invalid)?)
            }
        })
    }

    /// A connection from the pool (checked by deadpool when it was idle).
    pub async fn get(&self) -> anyhow::Result<Conn> {
        let what = "redis connection";
        Ok(match self {
            Self::Standalone(pool) => {
                let pooled = pool.get().await.context(what)?;
                Conn::Node(MultiplexedConnection::clone(&pooled))
            }
            Self::Sentinel(pool) => {
                let pooled = pool.get().await.context(what)?;
                Conn::Node(MultiplexedConnection::clone(&pooled))
            }
            Self::Cluster(pool) => {
                let pooled = pool.get().await.context(what)?;
                Conn::Cluster(ClusterConnection::clone(&pooled))
            }
        })
    }

    pub fn is_cluster(&self) -> bool {
        matches!(self, Self::Cluster(_))
    }

    /// After an error, idle connections may lead to the same dead node or to a master that
    /// Sentinel has since demoted: drop them all, so the next connection asks afresh.
    pub fn forget_idle(&self) {
        match self {
            Self::Standalone(pool) => drop(pool.retain(|_, _| false)),
            Self::Sentinel(pool) => drop(pool.retain(|_, _| false)),
            Self::Cluster(pool) => drop(pool.retain(|_, _| false)),
        }
    }
}

/// The master's and replicas' credentials in Sentinel mode.
fn node_info(settings: &RedisSettings) -> Option<SentinelNodeConnectionInfo> {
    let password = settings.sentinel_node_password.as_ref()?;
    Some(SentinelNodeConnectionInfo {
        tls_mode: None,
        redis_connection_info: Some(RedisConnectionInfo {
            password: Some(password.expose_secret().to_owned()),
            ..RedisConnectionInfo::default()
        }),
    })
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Node(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Node(c) => c.req_packed_commands(cmd, offset, count),
            Self::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Node(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

/// Deletes every key matching `pattern` on every node (KEYS runs on each master of a
/// cluster and DEL is split by slot); for tests, which use one prefix each.
pub(super) async fn delete_matching(conn: &mut Conn, pattern: &str) -> redis::RedisResult<()> {
    let keys: Vec<String> = redis::cmd("KEYS").arg(pattern).query_async(conn).await?;
    for chunk in keys.chunks(500) {
        redis::cmd("DEL").arg(chunk).query_async::<()>(conn).await?;
    }
    Ok(())
}
