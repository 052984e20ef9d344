//! Who signed in upstream, as we keep it: the subject, email, whether the upstream verified
//! the email, a name, and the upstream's `amr` values (RFC 8176), each bounded.

use openidconnect::core::{CoreGenderClaim, CoreIdTokenClaims, CoreUserInfoClaims};
use serde_json::Value;

use super::FederationError;
use crate::settings::ClaimMap;

/// The longest subject, email or name we keep from an upstream.
const MAX_VALUE: usize = 320;
/// The most `amr` values, and the longest each, that go on into our tokens.
const MAX_AMR: usize = 8;
const MAX_AMR_VALUE: usize = 32;
/// A profile document larger than this is refused.
pub const MAX_PROFILE_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub amr: Vec<String>,
}

fn bounded(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty() && value.len() <= MAX_VALUE).then(|| value.to_owned())
}

/// RFC 8176 values are short tokens; anything else from upstream is dropped.
fn amr_values<'a>(values: impl Iterator<Item = &'a str>) -> Vec<String> {
    let token = |v: &&str| {
        !v.is_empty()
            && v.len() <= MAX_AMR_VALUE
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    values
        .filter(token)
        .take(MAX_AMR)
        .map(str::to_owned)
        .collect()
}

pub fn from_id_token(claims: &CoreIdTokenClaims) -> Identity {
    let name = claims
        .name()
        .and_then(|n| n.get(None))
        .and_then(|n| bounded(n));
    Identity {
        subject: claims.subject().to_string(),
        email: claims.email().and_then(|e| bounded(e)),
        email_verified: claims.email_verified().unwrap_or(false),
        name,
        amr: claims
            .auth_method_refs()
            .map(|amr| amr_values(amr.iter().map(|m| m.as_str())))
            .unwrap_or_default(),
    }
}

/// Fills in what the ID token left out from the userinfo response (same subject: the crate
/// checked it).
pub fn add_userinfo(
    identity: &mut Identity,
    userinfo: &openidconnect::UserInfoClaims<openidconnect::EmptyAdditionalClaims, CoreGenderClaim>,
) {
    let userinfo: &CoreUserInfoClaims = userinfo;
    if identity.email.is_none() {
        identity.email = userinfo.email().and_then(|e| bounded(e));
        identity.email_verified = userinfo.email_verified().unwrap_or(false);
    }
    if identity.name.is_none() {
        identity.name = userinfo
            .name()
            .and_then(|n| n.get(None))
            .and_then(|n| bounded(n));
    }
}

/// A plain OAuth 2.0 provider's profile (GitHub's `/user` shape): the fields `claims` names.
/// A numeric subject (GitHub's `id`) is kept as its decimal string; an email counts as
/// verified only when a field says so.
pub fn from_json(body: &[u8], claims: &ClaimMap) -> Result<Identity, FederationError> {
    if body.len() > MAX_PROFILE_BYTES {
        return Err(FederationError::Rejected("the profile is too large".into()));
    }
    let profile: Value = serde_json::from_slice(body)
        .map_err(|_| FederationError::Rejected("the profile is not JSON".into()))?;
    let text = |field: &str| match profile.get(field) {
        Some(Value::String(s)) => bounded(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let subject = text(&claims.subject).ok_or_else(|| {
        FederationError::Rejected(format!("the profile has no {:?}", claims.subject))
    })?;
    Ok(Identity {
        subject,
        email: text(&claims.email),
        email_verified: profile.get(&claims.email_verified) == Some(&Value::Bool(true)),
        name: text(&claims.name),
        amr: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_github_profile_maps_through_the_claims() {
        let claims = ClaimMap {
            subject: "id".into(),
            ..ClaimMap::default()
        };
        let body = br#"{"id": 583231, "login": "octocat", "name": "The Octocat", "email": "octo@example.com"}"#;
        let identity = from_json(body, &claims).unwrap();
        assert_eq!(identity.subject, "583231");
        assert_eq!(identity.email.as_deref(), Some("octo@example.com"));
        assert!(
            !identity.email_verified,
            "unverified unless a field says so"
        );
        assert_eq!(identity.name.as_deref(), Some("The Octocat"));
    }

    #[test]
    fn a_profile_without_a_subject_or_not_json_is_refused() {
        let claims = ClaimMap::default();
        assert!(from_json(br#"{"email": "a@example.com"}"#, &claims).is_err());
        assert!(from_json(b"<html>", &claims).is_err());
        assert!(from_json(&vec![b' '; MAX_PROFILE_BYTES + 1], &claims).is_err());
    }

    #[test]
    fn only_short_tokens_pass_as_amr() {
        let values = ["pwd", "mfa", "not a token", "x".repeat(40).as_str()].map(str::to_owned);
        assert_eq!(
            amr_values(values.iter().map(String::as_str)),
            ["pwd", "mfa"]
        );
    }
}
