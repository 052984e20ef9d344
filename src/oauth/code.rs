//! Authorization codes (RFC 6749 §4.1.2): random, stored under their digest, taken once.
//! A redeemed code leaves a marker naming what it issued, so a replay can revoke it (§4.1.2).

use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::oauth::Scopes;
use crate::random;
use crate::store::{EphemeralStore, StoreResult};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeGrant {
    pub client_id: String,
    /// Present when the authorization request named it; the token request must repeat it.
    pub redirect_uri: Option<String>,
    pub user_id: String,
    pub scope: Scopes,
    pub nonce: Option<String>,
    pub pkce: Option<String>,
    pub auth_time: i64,
    pub sid: String,
    pub amr: Vec<String>,
}

/// What a redeemed code issued: revoked if the code is ever presented again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Issued {
    pub jti: String,
    pub access_expires_at: i64,
    pub family: String,
}

pub enum Redeemed {
    Fresh(CodeGrant),
    Replayed(Issued),
    Unknown,
}

pub async fn issue(
    store: &dyn EphemeralStore,
    grant: &CodeGrant,
    ttl: Duration,
) -> anyhow::Result<String> {
    let code = random::token();
    store
        .put(
            &format!("code:{}", random::digest(&code)),
            &serde_json::to_vec(grant)?,
            ttl,
        )
        .await?;
    Ok(code)
}

/// Takes the code atomically; a second presentation finds the marker instead.
pub async fn redeem(store: &dyn EphemeralStore, code: &str) -> anyhow::Result<Redeemed> {
    let digest = random::digest(code);
    if let Some(raw) = store.take(&format!("code:{digest}")).await? {
        return Ok(Redeemed::Fresh(
            serde_json::from_slice(&raw).context("stored code")?,
        ));
    }
    match store.get(&format!("code-used:{digest}")).await? {
        Some(raw) => Ok(Redeemed::Replayed(
            serde_json::from_slice(&raw).context("code marker")?,
        )),
        None => Ok(Redeemed::Unknown),
    }
}

/// Written before tokens are minted, so even a replay racing the first exchange finds it.
pub async fn mark_used(
    store: &dyn EphemeralStore,
    code: &str,
    issued: &Issued,
    ttl: Duration,
) -> StoreResult<()> {
    let value = serde_json::to_vec(issued).map_err(|e| crate::store::StoreError(e.into()))?;
    store
        .put(&format!("code-used:{}", random::digest(code)), &value, ttl)
        .await
}
