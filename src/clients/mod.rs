//! OAuth clients: their registration, secrets and the rules that depend on them.

pub mod cache;
pub mod origins;
pub mod store;

pub use cache::ClientCache;
pub use origins::AllowedOrigins;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::clock::UnixTime;
use crate::keys::Alg;

/// A client identifier as presented on the wire (RFC 6749 §2.2): non-empty, at most 255
/// bytes, no control characters. Whether such a client exists is the store's question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(raw: &str) -> Option<Self> {
        let plausible = !raw.is_empty() && raw.len() <= 255 && !raw.chars().any(char::is_control);
        plausible.then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// RFC 6749 §2.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientType {
    Public,
    Confidential,
}

impl ClientType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Confidential => "confidential",
        }
    }
}

/// OIDC Registration §2 `application_type`: what kind of software the client is, which
/// decides its redirect rules (RFC 8252).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApplicationType {
    /// A browser-based or server-side application: redirect URIs match exactly.
    #[default]
    Web,
    /// An app on the user's device (RFC 8252): a loopback IP redirect on any port, private-use
    /// URI schemes, PKCE always.
    Native,
}

impl ApplicationType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::Native => "native",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "web" => Some(Self::Web),
            "native" => Some(Self::Native),
            _ => None,
        }
    }
}

/// Token endpoint authentication methods (OIDC Core §9, RFC 7591 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    None,
    ClientSecretBasic,
    ClientSecretPost,
    /// RFC 7523 §2.2 with the client's registered JWKS.
    PrivateKeyJwt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    pub name: String,
    pub client_type: ClientType,
    /// SHA-256 of the secret; secrets are generated with ≥ 256 bits, so a fast digest
    /// compared in constant time is as strong as a password hash and far cheaper.
    pub secret_sha256: Option<[u8; 32]>,
    /// The secret before the latest rotation, still accepted for the overlap the operator
    /// gave, so the client's deployments can move to the new one without an outage.
    pub previous_secret: Option<PreviousSecret>,
    pub auth_methods: Vec<AuthMethod>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub web_origins: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub require_consent: bool,
    pub require_pkce: bool,
    pub allow_plain_pkce: bool,
    pub access_token_ttl_secs: Option<i64>,
    pub refresh_token_idle_ttl_secs: Option<i64>,
    pub refresh_token_max_ttl_secs: Option<i64>,
    /// Inline JWKS for `private_key_jwt`.
    pub jwks: Option<String>,
    /// Where a logout token goes when a session with this client ends.
    pub backchannel_logout_uri: Option<String>,
    /// A resource server that may introspect every client's tokens (RFC 7662 §4); others
    /// see only tokens issued to them or naming them as audience.
    pub introspect_any: bool,
    /// Overrides `tokens.refresh_retry_grace_secs`; public clients get no grace whatever
    /// this says (see [`Client::refresh_retry_grace`]).
    pub refresh_retry_grace_secs: Option<i64>,
    /// The resources (RFC 8707) this client may ask tokens for.
    pub allowed_resources: Vec<String>,
    /// The client gets a code only for a user whose email is verified; others are asked to
    /// verify it first (the request waits on the "verify your email" page).
    pub require_verified_email: bool,
    /// Every sign-in for this client takes a second factor (`urn:gatehouse:acr:mfa`); a
    /// user without one enrols one first.
    pub require_mfa: bool,
    pub application_type: ApplicationType,
    /// A self-registered client's registration access token (RFC 7592 §1), as its SHA-256;
    /// `None` for a client an operator registered.
    pub registration_token_sha256: Option<[u8; 32]>,
    /// OIDC Registration §2 `id_token_signed_response_alg`; logout tokens follow it too.
    pub id_token_alg: Alg,
    /// OIDC Registration §2 `userinfo_signed_response_alg`: a signed userinfo answer
    /// (`application/jwt`) when set.
    pub userinfo_alg: Option<Alg>,
    /// The algorithm of the client's access tokens (RFC 9068 §2.1 leaves it to the server).
    pub access_token_alg: Alg,
}

impl Client {
    /// A public client of the code flow with PKCE (RFC 9700 §2.1.1) that asks for consent
    /// and may request `openid`: where a registration starts before its own settings.
    pub fn public(id: &str, name: &str, redirect_uris: Vec<String>) -> Self {
        Self {
            id: id.to_owned(),
            name: name.to_owned(),
            client_type: ClientType::Public,
            secret_sha256: None,
            previous_secret: None,
            auth_methods: vec![AuthMethod::None],
            redirect_uris,
            post_logout_redirect_uris: vec![],
            web_origins: vec![],
            grant_types: vec![GrantType::AuthorizationCode],
            scopes: vec!["openid".to_owned()],
            require_consent: true,
            require_pkce: true,
            allow_plain_pkce: false,
            access_token_ttl_secs: None,
            refresh_token_idle_ttl_secs: None,
            refresh_token_max_ttl_secs: None,
            jwks: None,
            backchannel_logout_uri: None,
            introspect_any: false,
            refresh_retry_grace_secs: None,
            allowed_resources: vec![],
            require_verified_email: false,
            require_mfa: false,
            application_type: ApplicationType::Web,
            registration_token_sha256: None,
            id_token_alg: Alg::Rs256,
            userinfo_alg: None,
            access_token_alg: Alg::Rs256,
        }
    }

    /// How long a retry with a just-rotated refresh token gets the same answer instead of
    /// revoking the family. None for public clients: their refresh tokens are bearer tokens
    /// anyone who steals one can present, and a grace would hand the thief the new tokens
    /// without a reuse alarm (RFC 9700 §4.14.2). Only sender-constrained tokens (DPoP) could
    /// earn it back.
    pub fn refresh_retry_grace(&self, default_secs: i64) -> std::time::Duration {
        let secs = match self.client_type {
            ClientType::Public => 0,
            ClientType::Confidential => self.refresh_retry_grace_secs.unwrap_or(default_secs),
        };
        std::time::Duration::from_secs(secs.max(0) as u64)
    }

    pub fn is_public(&self) -> bool {
        self.client_type == ClientType::Public
    }

    pub fn is_native(&self) -> bool {
        self.application_type == ApplicationType::Native
    }

    /// Constant-time comparison of a presented secret with the stored digest, and with the
    /// previous secret's while its overlap lasts. Both comparisons are always made, so the
    /// time taken says nothing about which one matched.
    pub fn secret_matches(&self, presented: &str, now: UnixTime) -> bool {
        let presented = digest(presented);
        let current = self
            .secret_sha256
            .as_ref()
            .is_some_and(|stored| bool::from(presented.ct_eq(stored)));
        let previous = self.previous_secret.as_ref().is_some_and(|old| {
            let matches = bool::from(presented.ct_eq(&old.sha256));
            matches & (now.secs() < old.expires_at)
        });
        current | previous
    }

    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    pub fn allows_auth_method(&self, method: AuthMethod) -> bool {
        self.auth_methods.contains(&method)
    }
}

/// A secret replaced by a rotation, and when it stops working (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreviousSecret {
    pub sha256: [u8; 32],
    pub expires_at: i64,
}

pub fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// A new client secret: 256 random bits, base64url.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client_with_secret(secret: &str) -> Client {
        Client {
            client_type: ClientType::Confidential,
            secret_sha256: Some(digest(secret)),
            auth_methods: vec![AuthMethod::ClientSecretBasic],
            ..Client::public("c", "C", vec![])
        }
    }

    #[test]
    fn client_ids_are_bounded_printable_text() {
        assert_eq!(ClientId::parse("demo-spa").unwrap().as_str(), "demo-spa");
        assert!(ClientId::parse("").is_none());
        assert!(ClientId::parse(&"a".repeat(256)).is_none());
        assert!(ClientId::parse("a\nb").is_none());
    }

    #[test]
    fn public_clients_get_no_refresh_grace() {
        let public = Client::public("p", "P", vec![]);
        assert!(public.refresh_retry_grace(10).is_zero());
        let confidential = client_with_secret("s");
        assert_eq!(confidential.refresh_retry_grace(10).as_secs(), 10);
        let tuned = Client {
            refresh_retry_grace_secs: Some(3),
            ..client_with_secret("s")
        };
        assert_eq!(tuned.refresh_retry_grace(10).as_secs(), 3);
    }

    #[test]
    fn secrets_match_only_exactly() {
        let now = UnixTime::from_secs(1_000);
        let client = client_with_secret("s3cret");
        assert!(client.secret_matches("s3cret", now));
        assert!(!client.secret_matches("s3cret ", now));
        assert!(!client.secret_matches("", now));
    }

    #[test]
    fn a_rotated_secret_works_until_its_overlap_ends() {
        let client = Client {
            previous_secret: Some(PreviousSecret {
                sha256: digest("old"),
                expires_at: 1_000,
            }),
            ..client_with_secret("new")
        };
        assert!(client.secret_matches("old", UnixTime::from_secs(999)));
        assert!(!client.secret_matches("old", UnixTime::from_secs(1_000)));
        assert!(client.secret_matches("new", UnixTime::from_secs(5_000)));
    }

    #[test]
    fn generated_secrets_carry_256_bits() {
        let secret = generate_secret();
        assert_eq!(URL_SAFE_NO_PAD.decode(&secret).unwrap().len(), 32);
        assert_ne!(secret, generate_secret());
    }
}
