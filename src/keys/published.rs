//! What an operator is shown of the signing keys this server publishes: each key's public
//! description (RFC 7517 §4 members) and whether it signs, never private material.

use chrono::{DateTime, Utc};
use josekit::jwk::Jwk;

use super::timeline::Stage;

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
    /// When it starts (or started) signing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activates_at: Option<DateTime<Utc>>,
    /// When it leaves the JWKS, once a successor is scheduled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retire_after: Option<DateTime<Utc>>,
}

/// Where a key is in its life (see `keys::timeline`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// Published, not signing yet: relying parties fetch it before it signs anything.
    Next,
    /// Signs the tokens the server issues now (one per algorithm).
    Active,
    /// Published only so that tokens it signed still verify (RFC 7517 §5: a JWKS may hold
    /// keys that no longer sign), until the longest of them has expired.
    Retiring,
    /// Out of the JWKS: every token it signed has expired.
    Retired,
    /// Out of the JWKS at once by an operator's decision; its tokens are refused.
    Revoked,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Active => "active",
            Self::Retiring => "retiring",
            Self::Retired => "retired",
            Self::Revoked => "revoked",
        }
    }

    /// Whether the JWKS lists it.
    pub fn is_published(self) -> bool {
        matches!(self, Self::Next | Self::Active | Self::Retiring)
    }
}

impl PublishedKey {
    /// The public description of `jwk` at `stage`.
    pub(super) fn of(
        jwk: &Jwk,
        (kid, algorithm): (&str, &str),
        created_at: Option<DateTime<Utc>>,
        stage: &Stage,
    ) -> Self {
        Self {
            state: stage.state,
            activates_at: Some(stage.activates_at),
            retire_after: stage.retire_after,
            kid: kid.to_owned(),
            kty: jwk.key_type().to_owned(),
            alg: jwk.algorithm().unwrap_or(algorithm).to_owned(),
            key_use: jwk.key_use().unwrap_or("sig").to_owned(),
            created_at,
        }
    }
}
