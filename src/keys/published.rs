//! What an operator is shown of the signing keys this server publishes: each key's public
//! description (RFC 7517 §4 members) and whether it signs, never private material.

use chrono::{DateTime, Utc};
use josekit::jwk::Jwk;

/// A key in the JWKS, as the admin API lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PublishedKey {
    pub kid: String,
    /// RFC 7517 §4.1.
    pub kty: String,
    /// RFC 7517 §4.4.
    pub alg: String,
    /// RFC 7517 §4.2: `sig`, as every key we publish signs.
    #[serde(rename = "use")]
    pub key_use: String,
    /// When it was generated; a key that was never stored (tools, benchmarks) has none.
    pub created_at: Option<DateTime<Utc>>,
    pub state: KeyState,
}

/// What a published key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// Signs the tokens the server issues now.
    Active,
    /// Published only so that tokens it signed still verify (RFC 7517 §5: a JWKS may hold
    /// keys that no longer sign).
    Verifying,
}

impl PublishedKey {
    /// The public description of `jwk`, `active` when it is the key that signs now.
    pub(super) fn of(
        jwk: &Jwk,
        (kid, algorithm): (&str, &str),
        created_at: Option<DateTime<Utc>>,
        active: bool,
    ) -> Self {
        let state = match active {
            true => KeyState::Active,
            false => KeyState::Verifying,
        };
        Self {
            kid: kid.to_owned(),
            kty: jwk.key_type().to_owned(),
            alg: jwk.algorithm().unwrap_or(algorithm).to_owned(),
            key_use: jwk.key_use().unwrap_or("sig").to_owned(),
            created_at,
            state,
        }
    }
}
