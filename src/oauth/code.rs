//! Authorization codes (RFC 6749 §4.1.2): random, stored under their digest, taken once.
//! A redeemed code leaves a marker naming what it issued, so a replay can revoke it (§4.1.2).
//! The code and its marker share a hash tag, the code's digest: one Redis Cluster slot.

use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::oauth::Scopes;
use crate::oauth::resource::Resources;
use crate::random;
use crate::store::EphemeralStore;

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
    /// The upstream provider the user signed in at (the `idp` claim), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
    /// Unix seconds; the store's TTL removes the code too, this holds whatever its clock.
    #[serde(default)]
    pub expires_at: Option<i64>,
    #[serde(default)]
    pub resources: Resources,
}

/// What a redeemed code issued: revoked if the code is ever presented again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Issued {
    pub jti: String,
    pub access_expires_at: i64,
    pub family: String,
}

pub enum Redeemed {
    Fresh(Box<CodeGrant>),
    Replayed(Issued),
    Unknown,
}

pub async fn issue(
    store: &dyn EphemeralStore,
    grant: &CodeGrant,
    ttl: Duration,
) -> anyhow::Result<String> {
    let code = random::token();
    let (key, _) = keys(&code);
    store.put(&key, &serde_json::to_vec(grant)?, ttl).await?;
    Ok(code)
}

/// The code's key and its replay marker's, in one hash slot.
fn keys(code: &str) -> (String, String) {
    let digest = random::digest(code);
    (
        format!("code:{{{digest}}}"),
        format!("code-used:{{{digest}}}"),
    )
}

/// Takes the code atomically, leaving the marker of what it will issue; a second
/// presentation finds the marker instead.
pub async fn redeem(
    store: &dyn EphemeralStore,
    code: &str,
    issued: &Issued,
    marker_ttl: Duration,
    now: UnixTime,
) -> anyhow::Result<Redeemed> {
    let (key, marker_key) = keys(code);
    let marker = serde_json::to_vec(issued)?;
    if let Some(raw) = store
        .take_leaving(&key, &marker_key, &marker, marker_ttl)
        .await?
    {
        let grant: CodeGrant = serde_json::from_slice(&raw).context("stored code")?;
        let expired = grant.expires_at.is_some_and(|at| at <= now.secs());
        return Ok(if expired {
            Redeemed::Unknown
        } else {
            Redeemed::Fresh(Box::new(grant))
        });
    }
    match store.get(&marker_key).await? {
        Some(raw) => Ok(Redeemed::Replayed(
            serde_json::from_slice(&raw).context("code marker")?,
        )),
        None => Ok(Redeemed::Unknown),
    }
}
