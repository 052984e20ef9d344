//! `[redis]`: one server, a Sentinel-watched master, or a Redis Cluster.

use anyhow::{Context, bail};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RedisMode {
    /// `url` is the one server.
    #[default]
    Standalone,
    /// `url` lists the sentinels (comma-separated); they name the master of `sentinel_master`.
    Sentinel,
    /// `url` lists one or more seed nodes (comma-separated); the rest is discovered.
    Cluster,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    pub url: Option<SecretString>,
    #[serde(default)]
    pub mode: RedisMode,
    /// Sentinel mode: the master's name as the sentinels know it.
    pub sentinel_master: String,
    /// Sentinel mode: the password of the master and replicas, when they have one (the
    /// sentinels' own goes in their URLs).
    pub sentinel_node_password: Option<SecretString>,
    pub key_prefix: String,
    pub pool_size: usize,
    pub timeout_ms: u64,
}

impl RedisSettings {
    /// The URLs `url` lists (one in standalone mode).
    pub fn urls(&self) -> Vec<String> {
        self.url.as_ref().map_or_else(Vec::new, |url| {
            url.expose_secret()
                .split(',')
                .map(|u| u.trim().to_owned())
                .filter(|u| !u.is_empty())
                .collect()
        })
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        // A brace in the prefix would become every key's hash tag: one cluster slot for all.
        if self.key_prefix.contains(['{', '}']) {
            bail!("invalid configuration: redis.key_prefix must not contain {{ or }}");
        }
        if self.url.is_none() {
            return Ok(());
        }
        let urls = self.urls();
        if urls.is_empty() || (self.mode == RedisMode::Standalone && urls.len() > 1) {
            bail!(
                "invalid configuration: redis.url must be one URL (redis.mode = \"standalone\") \
                 or a comma-separated list (sentinel, cluster)"
            );
        }
        for url in &urls {
            Url::parse(url)
                .ok()
                .filter(|u| matches!(u.scheme(), "redis" | "rediss"))
                .context("invalid configuration: redis.url must be redis:// or rediss:// URLs")?;
        }
        if self.mode == RedisMode::Sentinel && self.sentinel_master.is_empty() {
            bail!("invalid configuration: redis.sentinel_master must name the master");
        }
        Ok(())
    }
}
