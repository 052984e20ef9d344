//! Browser SSO sessions, kept in the ephemeral store under a digest of the cookie value.
//! The `sid` handed to relying parties is a separate public id, never the cookie.

use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::random;
use crate::store::{EphemeralStore, StoreResult};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub sid: String,
    pub user_id: String,
    /// When the user last authenticated (OIDC `auth_time`), Unix seconds.
    pub auth_time: i64,
    pub amr: Vec<String>,
    pub created_at: i64,
    pub last_seen: i64,
    pub user_agent: String,
    pub ip: String,
}

fn key(cookie_value: &str) -> String {
    format!("session:{}", random::digest(cookie_value))
}

/// Starts a session after a successful login; returns the cookie value and the session.
pub async fn start(
    store: &dyn EphemeralStore,
    user_id: &str,
    user_agent: &str,
    ip: &str,
    ttl: Duration,
) -> anyhow::Result<(String, Session)> {
    let now = chrono::Utc::now().timestamp();
    let cookie_value = random::token();
    let session = Session {
        sid: random::token(),
        user_id: user_id.to_owned(),
        auth_time: now,
        amr: vec!["pwd".to_owned()],
        created_at: now,
        last_seen: now,
        user_agent: user_agent.chars().take(300).collect(),
        ip: ip.to_owned(),
    };
    store
        .put(&key(&cookie_value), &serde_json::to_vec(&session)?, ttl)
        .await?;
    Ok((cookie_value, session))
}

pub async fn find(
    store: &dyn EphemeralStore,
    cookie_value: &str,
) -> anyhow::Result<Option<Session>> {
    let Some(raw) = store.get(&key(cookie_value)).await? else {
        return Ok(None);
    };
    Ok(Some(
        serde_json::from_slice(&raw).context("stored session")?,
    ))
}

pub async fn end(store: &dyn EphemeralStore, cookie_value: &str) -> StoreResult<()> {
    store.delete(&key(cookie_value)).await
}
