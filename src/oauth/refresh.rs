//! Refresh tokens: opaque, stored under their digest, rotated on every use, grouped in
//! families so reuse of a rotated token revokes them all (RFC 9700 §4.14.2) — except a
//! retry within a short grace window, which gets the same answer again.

use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::keys;
use crate::oauth::Scopes;
use crate::random;
use crate::store::{EphemeralStore, Write};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshGrant {
    pub family: String,
    pub client_id: String,
    pub user_id: String,
    pub sid: String,
    pub scope: Scopes,
    pub auth_time: i64,
    pub amr: Vec<String>,
    /// The family's absolute end (Unix seconds); rotation never extends it.
    pub family_expires_at: i64,
}

#[derive(Debug, Serialize, Deserialize)]
struct FamilyState {
    revoked: bool,
}

/// Left behind by a rotation: who rotated when, and the sealed answer for a retry. A claim
/// leaves one before the grant is read (same round trip), so it names the presenting client
/// and no family yet; the rotation's final write replaces it with the full record.
#[derive(Debug, Serialize, Deserialize)]
struct Rotated {
    family: Option<String>,
    client_id: String,
    rotated_at_ms: i64,
    cached: Option<String>,
}

pub enum Presented {
    /// This request won the rotation of a live token.
    Live(RefreshGrant),
    /// A retry within the grace window: the response the first request got.
    Retry(Vec<u8>),
    /// A rotated token came back outside the grace window (or from another client).
    Reused {
        family: String,
    },
    Unknown,
}

fn token_key(token: &str) -> String {
    format!("rt:{}", random::digest(token))
}

fn rotated_key(token: &str) -> String {
    format!("rt-rotated:{}", random::digest(token))
}

fn family_key(family: &str) -> String {
    format!("rt-family:{family}")
}

/// From `now` to `until` (Unix seconds), at least a second.
fn remaining(until: i64, now: UnixTime) -> Duration {
    Duration::from_secs((until - now.secs()).max(1) as u64)
}

/// Opens a family; a revocation that raced ahead of it (code replay) is kept.
pub fn start_family(family: &str, expires_at: i64, now: UnixTime) -> anyhow::Result<Write> {
    Ok(Write::PutIfAbsent {
        key: family_key(family),
        value: serde_json::to_vec(&FamilyState { revoked: false })?,
        ttl: remaining(expires_at, now),
    })
}

pub async fn revoke_family(
    store: &dyn EphemeralStore,
    family: &str,
    ttl: Duration,
) -> anyhow::Result<()> {
    let state = serde_json::to_vec(&FamilyState { revoked: true })?;
    store.put(&family_key(family), &state, ttl).await?;
    Ok(())
}

/// A family that is revoked or has expired is not usable.
pub async fn family_usable(store: &dyn EphemeralStore, family: &str) -> anyhow::Result<bool> {
    let Some(raw) = store.get(&family_key(family)).await? else {
        return Ok(false);
    };
    let state: FamilyState = serde_json::from_slice(&raw).context("family state")?;
    Ok(!state.revoked)
}

/// A new refresh token and the write that stores it: it lives for the idle timeout, never
/// past the family's end.
pub fn new_token(
    grant: &RefreshGrant,
    idle_ttl: i64,
    now: UnixTime,
) -> anyhow::Result<(String, Write)> {
    let token = random::token();
    let ttl = remaining((now.secs() + idle_ttl).min(grant.family_expires_at), now);
    let write = Write::Put {
        key: token_key(&token),
        value: serde_json::to_vec(grant)?,
        ttl,
    };
    Ok((token, write))
}

/// Decides what a presented token is. Exactly one of concurrent presenters wins `Live`: the
/// token is read and the rotation marker claimed (put-if-absent) in one atomic store call,
/// before the token is deleted. `claim_ttl` bounds a claim whose rotation never finished.
pub async fn claim(
    store: &dyn EphemeralStore,
    token: &str,
    client_id: &str,
    grace: Duration,
    claim_ttl: Duration,
    now: UnixTime,
) -> anyhow::Result<Presented> {
    let marker = Rotated {
        family: None,
        client_id: client_id.to_owned(),
        rotated_at_ms: now.millis(),
        cached: None,
    };
    let claimed = store
        .get_marking(
            &token_key(token),
            &rotated_key(token),
            &serde_json::to_vec(&marker)?,
            claim_ttl,
        )
        .await?;
    if let Some((raw, true)) = claimed {
        // The old token is deleted with the new one's write (see `retire`); meanwhile
        // the marker already sends every other presenter down the retry path.
        let grant = serde_json::from_slice(&raw).context("stored refresh token")?;
        return Ok(Presented::Live(grant));
    }
    after_rotation(store, token, client_id, grace, now).await
}

async fn after_rotation(
    store: &dyn EphemeralStore,
    token: &str,
    client_id: &str,
    grace: Duration,
    now: UnixTime,
) -> anyhow::Result<Presented> {
    let within = |m: &Rotated| {
        m.client_id == client_id && now.since(UnixTime::from_millis(m.rotated_at_ms)) <= grace
    };
    // A concurrent winner may still be minting: wait briefly for its sealed answer.
    let mut token_gone = false;
    for _ in 0..60 {
        let Some(raw) = store.get(&rotated_key(token)).await? else {
            return Ok(Presented::Unknown);
        };
        let marker: Rotated = serde_json::from_slice(&raw).context("rotation marker")?;
        let family = match &marker.family {
            Some(family) => family.clone(),
            // Claimed but not yet retired: the token itself still names its family.
            None => match find(store, token).await? {
                Some(grant) => grant.family,
                // Gone twice: a claim whose rotation never finished, outlived by its marker.
                None if token_gone => return Ok(Presented::Unknown),
                // Retired since the marker was read (atomically): read the marker again.
                None => {
                    token_gone = true;
                    continue;
                }
            },
        };
        if grace.is_zero() || !within(&marker) || !family_usable(store, &family).await? {
            return Ok(Presented::Reused { family });
        }
        if let Some(sealed) = marker.cached {
            let key = random::derive_key("refresh-retry", token);
            return Ok(Presented::Retry(keys::open(&key, &sealed)?));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Presented::Unknown)
}

/// Retires a rotated token: deletes it and leaves the response sealed under a key only the
/// old token's holder can derive, for retries.
pub fn retire(
    old_token: &str,
    grant: &RefreshGrant,
    response: &[u8],
    now: UnixTime,
) -> anyhow::Result<[Write; 2]> {
    let key = random::derive_key("refresh-retry", old_token);
    let marker = Rotated {
        family: Some(grant.family.clone()),
        client_id: grant.client_id.clone(),
        rotated_at_ms: now.millis(),
        cached: Some(keys::seal(&key, response)?),
    };
    let ttl = remaining(grant.family_expires_at, now);
    Ok([
        Write::Delete {
            key: token_key(old_token),
        },
        Write::Put {
            key: rotated_key(old_token),
            value: serde_json::to_vec(&marker)?,
            ttl,
        },
    ])
}

/// The live grant behind a refresh token, without using it.
pub async fn find(store: &dyn EphemeralStore, token: &str) -> anyhow::Result<Option<RefreshGrant>> {
    match store.get(&token_key(token)).await? {
        Some(raw) => Ok(Some(
            serde_json::from_slice(&raw).context("stored refresh token")?,
        )),
        None => Ok(None),
    }
}

/// Deletes a refresh token (its family is revoked separately).
pub async fn forget(store: &dyn EphemeralStore, token: &str) -> anyhow::Result<()> {
    store.delete(&token_key(token)).await?;
    Ok(())
}
