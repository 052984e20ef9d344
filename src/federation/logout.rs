//! Signing out at the upstream too (RP-Initiated Logout 1.0 §2, with us as its relying
//! party), for providers with `upstream_logout`: after our session ended, the browser goes to
//! the upstream's `end_session_endpoint` with our `client_id`, a `post_logout_redirect_uri`
//! of ours (`/federation/{id}/logged-out`, registered at the upstream) and a `state` naming
//! where it goes afterwards: the relying party's validated post-logout URI, or our page.

use std::time::Duration;

use super::Federation;
use crate::random;

/// Longer than anyone takes on the upstream's confirmation page.
const AFTER_TTL: Duration = Duration::from_secs(10 * 60);

fn key(state: &str) -> String {
    format!("federation-logout:{}", random::digest(state))
}

impl Federation {
    /// Our return address from provider `id`'s end-session endpoint.
    pub fn logged_out_uri(&self, id: &str) -> String {
        format!("{}/federation/{id}/logged-out", self.inner.issuer.as_str())
    }

    /// Where to send a browser whose session, signed in at provider `id`, just ended:
    /// the upstream's end-session endpoint, then `after` (a URL already validated, or `None`
    /// for our "signed out" page). `None` when the provider is not signed out of (not set
    /// up for it, no endpoint, or unreachable: our sign-out stands on its own).
    pub async fn upstream_logout(&self, id: &str, after: Option<String>) -> Option<url::Url> {
        let provider = self.provider(id).ok()?;
        if !provider.settings.upstream_logout || !provider.is_oidc() {
            return None;
        }
        let now = self.inner.clock.now();
        let metadata = provider.metadata(&self.inner.http, now).await.ok()?;
        let mut endpoint = metadata
            .additional_metadata()
            .end_session_endpoint
            .clone()?;
        let state = random::token();
        let value = serde_json::to_vec(&after).ok()?;
        let stored = self.inner.store.put(&key(&state), &value, AFTER_TTL).await;
        if let Err(error) = stored {
            tracing::warn!(error = %error, "could not keep the upstream sign-out's way back");
            return None;
        }
        endpoint
            .query_pairs_mut()
            .append_pair("client_id", &provider.settings.client_id)
            .append_pair("post_logout_redirect_uri", &self.logged_out_uri(id))
            .append_pair("state", &state);
        Some(endpoint)
    }

    /// Back from the upstream's sign-out: where the browser goes now, once (`None` for an
    /// unknown or used `state`; `Some(None)` for our "signed out" page).
    pub async fn logged_out(&self, state: &str) -> Option<Option<String>> {
        let raw = self.inner.store.take(&key(state)).await.ok()??;
        serde_json::from_slice(&raw).ok()
    }
}
