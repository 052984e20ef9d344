//! A pending authorization request, kept server-side between the pages of the sign-in
//! pipeline and bound to the browser that started it. Stored under the digest of its id.

use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::AuthorizationRequest;
use crate::random;
use crate::store::EphemeralStore;

/// How long a user may take on the pages.
const PENDING_TTL: Duration = Duration::from_secs(10 * 60);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub request: AuthorizationRequest,
    pub client_name: String,
    /// Digest of the browser's binding cookie: only that browser can continue the request.
    pub browser: String,
    /// Set when the user logged in for this request (satisfies `prompt=login`/`max_age`).
    pub fresh_login: bool,
    pub consent_given: bool,
    /// The user an `id_token_hint` named: another user's session does not count for this
    /// request (OIDC Core §3.1.2.1).
    #[serde(default)]
    pub hinted_user: Option<String>,
}

fn key(id: &str) -> String {
    format!("pending:{}", random::digest(id))
}

/// Stores a new pending request; returns its id. How many one address may open is
/// `limits.authorize_per_ip`'s to say (`limits::Throttle::new_authorization`).
pub async fn save(store: &dyn EphemeralStore, pending: &Pending) -> anyhow::Result<String> {
    let id = random::token();
    update(store, &id, pending).await?;
    Ok(id)
}

pub async fn update(store: &dyn EphemeralStore, id: &str, pending: &Pending) -> anyhow::Result<()> {
    let value = serde_json::to_vec(pending)?;
    store.put(&key(id), &value, PENDING_TTL).await?;
    Ok(())
}

/// The pending request if it exists and belongs to this browser.
pub async fn load(
    store: &dyn EphemeralStore,
    id: &str,
    browser: &str,
) -> anyhow::Result<Option<Pending>> {
    let Some(raw) = store.get(&key(id)).await? else {
        return Ok(None);
    };
    let pending: Pending = serde_json::from_slice(&raw).context("stored pending request")?;
    Ok((pending.browser == random::digest(browser)).then_some(pending))
}

pub async fn drop(store: &dyn EphemeralStore, id: &str) -> anyhow::Result<()> {
    store.delete(&key(id)).await?;
    Ok(())
}
