//! OpenID Connect Back-Channel Logout 1.0: signed logout tokens POSTed to clients in the
//! background, retried with backoff; failures are logged, never shown to the user.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::clock::SharedClock;
use crate::keys::{Alg, KeyRing};
use crate::random;
use crate::settings::Issuer;

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
const ATTEMPTS: u32 = 4;

/// Who is logged out of which client.
pub struct Logout {
    pub client_id: String,
    pub uri: String,
    pub sub: String,
    pub sid: String,
    /// The client's id_token algorithm: it verifies logout tokens like id_tokens (§2.4).
    pub alg: Alg,
}

#[derive(Clone)]
pub struct Notifier {
    http: reqwest::Client,
    keys: Arc<KeyRing>,
    issuer: Issuer,
    clock: SharedClock,
}

impl Notifier {
    pub fn new(keys: Arc<KeyRing>, issuer: Issuer, clock: SharedClock) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .build()?;
        Ok(Self {
            http,
            keys,
            issuer,
            clock,
        })
    }

    /// Queues delivery; returns at once.
    pub fn notify(&self, logout: Logout) {
        let notifier = self.clone();
        tokio::spawn(async move { notifier.deliver(logout).await });
    }

    /// §2.4: `iss`, `aud`, `iat`, `exp`, `jti`, `events`, `sub`, `sid`; never a `nonce`.
    pub fn logout_token(&self, logout: &Logout) -> anyhow::Result<String> {
        let now = self.clock.now().secs();
        let claims = json!({
            "iss": self.issuer.as_str(),
            "aud": logout.client_id,
            "iat": now,
            "exp": now + 120,
            "jti": random::token(),
            "sub": logout.sub,
            "sid": logout.sid,
            "events": { EVENT: {} },
        });
        let payload = serde_json::to_vec(&claims)?;
        self.keys.sign_with(logout.alg, "logout+jwt", &payload)
    }

    async fn deliver(&self, logout: Logout) {
        let token = match self.logout_token(&logout) {
            Ok(token) => token,
            Err(e) => return tracing::error!(error = %e, "cannot sign a logout token"),
        };
        for attempt in 1..=ATTEMPTS {
            let sent = self
                .http
                .post(&logout.uri)
                .form(&[("logout_token", token.as_str())])
                .send()
                .await;
            match sent {
                Ok(response) if response.status().is_success() => {
                    return tracing::info!(client_id = %logout.client_id, "back-channel logout delivered");
                }
                Ok(response) => tracing::debug!(
                    status = response.status().as_u16(),
                    attempt,
                    "back-channel logout refused"
                ),
                Err(e) => tracing::debug!(error = %e, attempt, "back-channel logout not delivered"),
            }
            tokio::time::sleep(Duration::from_millis(500 * 2u64.pow(attempt - 1))).await;
        }
        tracing::warn!(client_id = %logout.client_id, "back-channel logout failed after {ATTEMPTS} attempts");
    }
}
