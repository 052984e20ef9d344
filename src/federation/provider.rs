//! One upstream provider at run time: its settings and, for an OIDC provider, its discovery
//! document and keys. Nothing is fetched at start-up (an upstream that is down must not
//! stop us from starting): the document is read on first use, kept for an hour, and its
//! keys read again when an ID token names a key we do not hold (OIDC Core §10.1.1).

use std::time::Duration;

use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{AdditionalProviderMetadata, IssuerUrl, JsonWebKeySet, ProviderMetadata};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::Unreachable;
use crate::clock::UnixTime;
use crate::settings::{ProviderKind, ProviderSettings};

/// What we read beyond the core document: RP-initiated logout's endpoint, and whether the
/// upstream sends `iss` with its authorization responses (RFC 9207 §3).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Extra {
    pub end_session_endpoint: Option<url::Url>,
    pub authorization_response_iss_parameter_supported: Option<bool>,
}

impl AdditionalProviderMetadata for Extra {}

pub type Metadata = ProviderMetadata<
    Extra,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// A discovery document is read again after this long.
const REDISCOVER_AFTER: Duration = Duration::from_secs(3600);
/// After a failed read, requests fail at once for this long instead of each waiting for
/// the upstream's timeout in turn.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(10);

pub struct Provider {
    pub settings: ProviderSettings,
    pub secret: Option<SecretString>,
    discovered: Mutex<Discovered>,
}

#[derive(Default)]
struct Discovered {
    metadata: Option<(Metadata, UnixTime)>,
    failed_at: Option<UnixTime>,
}

impl Provider {
    pub fn new(settings: ProviderSettings) -> anyhow::Result<Self> {
        Ok(Self {
            secret: settings.secret()?,
            settings,
            discovered: Mutex::new(Discovered::default()),
        })
    }

    pub fn id(&self) -> &str {
        &self.settings.id
    }

    pub fn name(&self) -> &str {
        &self.settings.name
    }

    pub fn is_oidc(&self) -> bool {
        self.settings.kind == ProviderKind::Oidc
    }

    /// The OIDC provider's discovery document (with its keys), read when not held or stale.
    /// One caller reads at a time; the others wait for its result.
    pub async fn metadata(
        &self,
        http: &reqwest::Client,
        now: UnixTime,
    ) -> Result<Metadata, Unreachable> {
        let mut held = self.discovered.lock().await;
        if let Some((metadata, at)) = &held.metadata {
            if now.since(*at) < REDISCOVER_AFTER {
                return Ok(metadata.clone());
            }
        }
        if held
            .failed_at
            .is_some_and(|at| now.since(at) < RETRY_AFTER_FAILURE)
        {
            return self.stale_or_unreachable(&held);
        }
        match self.discover(http).await {
            Ok(metadata) => {
                held.metadata = Some((metadata.clone(), now));
                held.failed_at = None;
                Ok(metadata)
            }
            Err(error) => {
                tracing::warn!(provider = self.id(), error = %error, "upstream discovery failed");
                held.failed_at = Some(now);
                self.stale_or_unreachable(&held)
            }
        }
    }

    /// Reads the keys again (an ID token named a key we do not hold: a rotation upstream).
    pub async fn refresh_keys(
        &self,
        http: &reqwest::Client,
        now: UnixTime,
    ) -> Result<Metadata, Unreachable> {
        let current = self.metadata(http, now).await?;
        let jwks = JsonWebKeySet::fetch_async(current.jwks_uri(), http)
            .await
            .map_err(|e| {
                tracing::warn!(provider = self.id(), error = %e, "upstream keys unreachable");
                Unreachable
            })?;
        let fresh = current.set_jwks(jwks);
        self.discovered.lock().await.metadata = Some((fresh.clone(), now));
        Ok(fresh)
    }

    /// A document read earlier still serves while the upstream cannot be reached.
    fn stale_or_unreachable(&self, held: &Discovered) -> Result<Metadata, Unreachable> {
        held.metadata
            .as_ref()
            .map(|(metadata, _)| metadata.clone())
            .ok_or(Unreachable)
    }

    async fn discover(&self, http: &reqwest::Client) -> anyhow::Result<Metadata> {
        let issuer = self
            .settings
            .issuer
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("no issuer"))?;
        let issuer = IssuerUrl::new(issuer.clone())?;
        Ok(Metadata::discover_async(issuer, http).await?)
    }
}
