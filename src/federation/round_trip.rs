//! A sign-in on its way to an upstream and back: what the callback needs to finish it. Kept
//! in the shared store under the digest of its `state`, bound to the browser that began it,
//! and taken once, so a replayed or forged callback finds nothing (RFC 9700 §4.7: `state`
//! as the CSRF defence, one use each).

use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::oidc::challenge::Then;
use crate::random;
use crate::store::EphemeralStore;

/// As long as a pending authorization request lives: the upstream's pages must fit in it.
pub const ROUND_TRIP_TTL: Duration = Duration::from_secs(10 * 60);

/// Why the browser went upstream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Purpose {
    /// To sign in, then go on as `then` says.
    SignIn { then: Then },
    /// To link the upstream account to `user_id`, signed in here already.
    Link { user_id: String },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoundTrip {
    pub provider: String,
    /// The PKCE verifier (RFC 7636), sent with the code.
    pub verifier: String,
    /// The `nonce` the ID token must carry (OIDC Core §3.1.2.1).
    pub nonce: String,
    /// Digest of the browser's binding cookie.
    pub browser: String,
    pub purpose: Purpose,
}

fn key(state: &str) -> String {
    format!("federation:{}", random::digest(state))
}

/// Stores `trip` and returns the `state` that names it.
pub async fn open(store: &dyn EphemeralStore, trip: &RoundTrip) -> anyhow::Result<String> {
    let state = random::token();
    let value = serde_json::to_vec(trip)?;
    store.put(&key(&state), &value, ROUND_TRIP_TTL).await?;
    Ok(state)
}

/// The round trip `state` names, once, if this browser began it.
pub async fn take(
    store: &dyn EphemeralStore,
    state: &str,
    binding: &str,
) -> anyhow::Result<Option<RoundTrip>> {
    let Some(raw) = store.take(&key(state)).await? else {
        return Ok(None);
    };
    let trip: RoundTrip = serde_json::from_slice(&raw).context("stored federation round trip")?;
    Ok((trip.browser == random::digest(binding)).then_some(trip))
}
