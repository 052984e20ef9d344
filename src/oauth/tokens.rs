//! Minting and checking tokens: RFC 9068 JWT access tokens and OIDC id_tokens, signed with
//! each client's algorithm (RS256 unless registered otherwise).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::UnixTime;
use crate::keys::{Alg, KeyRing};
use crate::oauth::resource::Resources;
use crate::oauth::{Error, Scopes};
use crate::settings::{Issuer, TokenSettings};
use crate::store::EphemeralStore;

pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// RFC 9068 §2.2 claims.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub client_id: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub auth_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sid: Option<String>,
    /// With the `roles` scope only: the user's role names.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub roles: Option<Vec<String>>,
}

/// `aud`: one value as a string, several as an array (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn new(mut values: Vec<String>) -> Self {
        match values.len() {
            1 => Self::One(values.remove(0)),
            _ => Self::Many(values),
        }
    }

    pub fn contains(&self, value: &str) -> bool {
        match self {
            Self::One(one) => one == value,
            Self::Many(all) => all.iter().any(|a| a == value),
        }
    }
}

/// OIDC Core §2 and §3.1.3.6.
#[derive(Debug, Clone, Serialize)]
pub struct IdClaims<'a> {
    pub iss: &'a str,
    pub sub: &'a str,
    pub aud: &'a str,
    pub azp: &'a str,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<&'a str>,
    pub at_hash: String,
    pub sid: &'a str,
    pub amr: &'a [String],
    /// The level the sign-in reached (see [`crate::oauth::acr`]).
    pub acr: &'a str,
    /// The upstream provider the user signed in at (federation; ours, like Keycloak's
    /// `identity_provider`), only when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idp: Option<&'a str>,
    /// With the `roles` scope only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<&'a [String]>,
}

/// The token response body (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub scope: String,
}

pub struct Minter<'a> {
    pub keys: &'a KeyRing,
    pub issuer: &'a Issuer,
    pub settings: &'a TokenSettings,
}

/// Who and what an access token is for.
#[derive(Clone, Copy)]
pub struct AccessSubject<'a> {
    pub sub: &'a str,
    pub client_id: &'a str,
    pub scope: &'a Scopes,
    /// RFC 8707: the resources the token is for.
    pub resources: &'a Resources,
    pub auth_time: Option<i64>,
    pub sid: Option<&'a str>,
    pub ttl: i64,
    /// The user's roles when the `roles` scope is granted.
    pub roles: Option<&'a [String]>,
    /// The client's access-token algorithm.
    pub alg: Alg,
}

impl Minter<'_> {
    pub fn access_token(
        &self,
        subject: &AccessSubject<'_>,
        jti: &str,
        now: i64,
    ) -> anyhow::Result<(String, i64)> {
        let claims = AccessClaims {
            iss: self.issuer.as_str().to_owned(),
            sub: subject.sub.to_owned(),
            aud: Audience::new(
                subject
                    .resources
                    .audience(self.issuer.as_str(), subject.scope.contains("openid")),
            ),
            client_id: subject.client_id.to_owned(),
            exp: now + subject.ttl,
            iat: now,
            jti: jti.to_owned(),
            scope: subject.scope.to_string(),
            auth_time: subject.auth_time,
            sid: subject.sid.map(str::to_owned),
            roles: subject.roles.map(<[String]>::to_vec),
        };
        let payload = serde_json::to_vec(&claims)?;
        let token = self
            .keys
            .sign_with(subject.alg, ACCESS_TOKEN_TYP, &payload)?;
        Ok((token, claims.exp))
    }

    /// Signed with the client's `id_token_signed_response_alg`.
    pub fn id_token(&self, claims: &IdClaims<'_>, alg: Alg) -> anyhow::Result<String> {
        self.keys
            .sign_with(alg, "JWT", &serde_json::to_vec(claims)?)
    }
}

/// OIDC Core §3.1.3.6: base64url of the left half of the access token's hash under the
/// id_token's algorithm — SHA-256 for RS256 and ES256, SHA-512 for EdDSA with Ed25519
/// (errata set 2, as relying parties such as the `openidconnect` crate compute it).
pub fn at_hash(access_token: &str, alg: Alg) -> String {
    match alg {
        Alg::Rs256 | Alg::Es256 => {
            let digest = Sha256::digest(access_token.as_bytes());
            URL_SAFE_NO_PAD.encode(&digest[..16])
        }
        Alg::EdDsa => {
            let digest = sha2::Sha512::digest(access_token.as_bytes());
            URL_SAFE_NO_PAD.encode(&digest[..32])
        }
    }
}

/// Checks an access token presented to us (signature, `typ`, issuer, expiry, revocation).
pub async fn verify_access(
    keys: &KeyRing,
    issuer: &Issuer,
    store: &dyn EphemeralStore,
    token: &str,
    now: UnixTime,
) -> Result<AccessClaims, Error> {
    let invalid = || Error::InvalidToken("the access token is invalid or expired".into());
    let (payload, typ) = keys.verify(token).map_err(|_| invalid())?;
    if typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
        return Err(invalid());
    }
    let claims: AccessClaims = serde_json::from_slice(&payload).map_err(|_| invalid())?;
    if claims.iss != issuer.as_str() || claims.exp <= now.secs() {
        return Err(invalid());
    }
    if store.get(&revoked_jti_key(&claims.jti)).await?.is_some() {
        return Err(invalid());
    }
    Ok(claims)
}

/// The claims of an `id_token_hint`: one of our own id_tokens, whatever its age (OIDC Core
/// §3.1.2.1, RP-Initiated Logout §2).
#[derive(Debug, Deserialize)]
pub struct IdTokenHint {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub sid: Option<String>,
}

impl IdTokenHint {
    /// Signed by one of our keys, typed as an id_token, and issued by us.
    pub fn verify(keys: &KeyRing, issuer: &Issuer, token: &str) -> Option<Self> {
        let (payload, typ) = keys.verify(token).ok()?;
        let hint: Self = serde_json::from_slice(&payload).ok()?;
        (typ.as_deref() == Some("JWT") && hint.iss == issuer.as_str()).then_some(hint)
    }
}

pub fn revoked_jti_key(jti: &str) -> String {
    format!("revoked-jti:{jti}")
}

/// Puts an access token's `jti` on the deny-list until the token would expire anyway.
pub async fn revoke_access(
    store: &dyn EphemeralStore,
    jti: &str,
    expires_at: i64,
    now: UnixTime,
) -> Result<(), Error> {
    let remaining = (expires_at - now.secs()).max(1) as u64;
    store
        .put(
            &revoked_jti_key(jti),
            b"1",
            std::time::Duration::from_secs(remaining),
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_is_left_half_of_sha256_base64url() {
        // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223…; its first 16 bytes, base64url.
        assert_eq!(at_hash("abc", Alg::Rs256), "ungWv48Bz-pBQUDeXa4iIw");
        assert_eq!(at_hash("abc", Alg::Es256), "ungWv48Bz-pBQUDeXa4iIw");
    }

    #[test]
    fn eddsa_at_hash_is_left_half_of_sha512() {
        // SHA-512("abc") = ddaf35a193617aba…; its first 32 bytes, base64url.
        assert_eq!(
            at_hash("abc", Alg::EdDsa),
            "3a81oZNherrMQXNJriBBMRLm-k6JqX6iCp7u5ktV05o"
        );
    }
}
