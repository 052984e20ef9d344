//! Upstream identity providers people may sign in with (`[[federation.providers]]`).

use std::path::PathBuf;

use anyhow::{Context, bail};
use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FederationSettings {
    /// How long one call to an upstream (discovery, keys, token, userinfo) may take.
    pub timeout_ms: u64,
    #[serde(default)]
    pub providers: Vec<ProviderSettings>,
}

/// `oidc`: OpenID Connect, configured from the issuer's discovery document; `oauth2`: plain
/// OAuth 2.0 with explicit endpoints and a userinfo-style profile (GitHub's shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    Oidc,
    Oauth2,
}

/// What an upstream sign-in of someone not linked yet may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkPolicy {
    /// Link to the existing account with the same email, only when the upstream says the
    /// email is verified (never on an unverified one: anyone can claim an address upstream).
    VerifiedEmail,
    /// As `verified_email`, and otherwise create the account (just-in-time).
    Create,
    /// Only identities already linked from the account page sign in.
    ExistingOnly,
}

/// The upstream claims (or profile fields) that carry what we need; OIDC's names by default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClaimMap {
    pub subject: String,
    pub email: String,
    pub email_verified: String,
    pub name: String,
}

impl Default for ClaimMap {
    fn default() -> Self {
        Self {
            subject: "sub".into(),
            email: "email".into(),
            email_verified: "email_verified".into(),
            name: "name".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSettings {
    /// In the callback path (`/federation/{id}/callback`) and in the `idp` claim.
    pub id: String,
    /// On the sign-in button.
    pub name: String,
    pub kind: ProviderKind,
    /// `oidc`: the issuer, whose `/.well-known/openid-configuration` is read on first use.
    /// Kept as written: it must equal the upstream's `iss` exactly (a trailing slash too).
    pub issuer: Option<String>,
    /// `oauth2`: the three endpoints.
    pub authorization_endpoint: Option<Url>,
    pub token_endpoint: Option<Url>,
    pub userinfo_endpoint: Option<Url>,
    pub client_id: String,
    pub client_secret: Option<SecretString>,
    pub client_secret_file: Option<PathBuf>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub claims: ClaimMap,
    #[serde(default = "default_link")]
    pub link: LinkPolicy,
    /// The upstream asks for a second factor itself: its sign-in counts as one (`mfa`), and
    /// ours is not asked again.
    #[serde(default)]
    pub trusted_mfa: bool,
    /// After a sign-out here, sign out at the upstream too, when it has an
    /// `end_session_endpoint` (register `/federation/{id}/logged-out` there).
    #[serde(default)]
    pub upstream_logout: bool,
}

fn default_link() -> LinkPolicy {
    LinkPolicy::VerifiedEmail
}

impl FederationSettings {
    /// `same_site`: a strict session cookie is not sent on the way back from an upstream.
    pub fn validate(&self, same_site: super::CookieSameSite) -> anyhow::Result<()> {
        if !self.providers.is_empty() && same_site == super::CookieSameSite::Strict {
            bail!(
                "invalid configuration: sessions.cookie_same_site = \"strict\" drops our cookies on the way back from an upstream provider; use \"lax\" with federation.providers"
            );
        }
        if !(100..=60_000).contains(&self.timeout_ms) {
            bail!("invalid configuration: federation.timeout_ms must be 100..=60000");
        }
        let mut seen = std::collections::HashSet::new();
        for provider in &self.providers {
            provider.validate()?;
            if !seen.insert(provider.id.as_str()) {
                bail!(
                    "invalid configuration: federation.providers: id {:?} is used twice",
                    provider.id
                );
            }
        }
        Ok(())
    }
}

impl ProviderSettings {
    fn validate(&self) -> anyhow::Result<()> {
        let id = &self.id;
        let url_safe = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if id.is_empty() || id.len() > 32 || !id.chars().all(url_safe) {
            bail!(
                "invalid configuration: federation.providers: id {id:?} must be 1-32 letters, digits, - or _"
            );
        }
        let missing = |key: &str| {
            anyhow::anyhow!("invalid configuration: federation provider {id:?} needs {key}")
        };
        if self.name.trim().is_empty() {
            return Err(missing("a name"));
        }
        if self.client_id.is_empty() {
            return Err(missing("a client_id"));
        }
        match self.kind {
            ProviderKind::Oidc => match &self.issuer {
                None => return Err(missing("an issuer")),
                Some(issuer) if Url::parse(issuer).is_err() => {
                    return Err(missing("an issuer that is a URL"));
                }
                Some(_) => {}
            },
            ProviderKind::Oauth2 => {
                let endpoints = [
                    &self.authorization_endpoint,
                    &self.token_endpoint,
                    &self.userinfo_endpoint,
                ];
                if endpoints.iter().any(|e| e.is_none()) {
                    return Err(missing(
                        "authorization_endpoint, token_endpoint and userinfo_endpoint",
                    ));
                }
            }
        }
        if self.client_secret.is_some() && self.client_secret_file.is_some() {
            bail!(
                "invalid configuration: federation provider {id:?}: set client_secret or client_secret_file, not both"
            );
        }
        Ok(())
    }

    /// The client secret, read from its file when given as one; `None` for a public client.
    pub fn secret(&self) -> anyhow::Result<Option<SecretString>> {
        if let Some(path) = &self.client_secret_file {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!(
                    "reading federation provider {:?}'s client_secret_file {}",
                    self.id,
                    path.display()
                )
            })?;
            return Ok(Some(SecretString::from(text.trim().to_owned())));
        }
        Ok(self.client_secret.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::CookieSameSite;

    fn provider() -> ProviderSettings {
        ProviderSettings {
            id: "corp".into(),
            name: "Corp".into(),
            kind: ProviderKind::Oidc,
            issuer: Some("https://sso.example.com".into()),
            authorization_endpoint: None,
            token_endpoint: None,
            userinfo_endpoint: None,
            client_id: "gatehouse".into(),
            client_secret: None,
            client_secret_file: None,
            scopes: vec![],
            claims: ClaimMap::default(),
            link: LinkPolicy::VerifiedEmail,
            trusted_mfa: false,
            upstream_logout: false,
        }
    }

    fn check(providers: Vec<ProviderSettings>, same_site: CookieSameSite) -> Result<(), String> {
        let settings = FederationSettings {
            timeout_ms: 5000,
            providers,
        };
        settings.validate(same_site).map_err(|e| e.to_string())
    }

    #[test]
    fn a_sound_provider_passes() {
        assert_eq!(check(vec![provider()], CookieSameSite::Lax), Ok(()));
    }

    #[test]
    fn each_broken_rule_is_named() {
        type Breaks = fn(&mut ProviderSettings);
        let cases: [(Breaks, &str); 5] = [
            (|p| p.id = "has space".into(), "letters, digits"),
            (|p| p.issuer = None, "needs an issuer"),
            (
                |p| p.issuer = Some("not a url".into()),
                "an issuer that is a URL",
            ),
            (
                |p| p.kind = ProviderKind::Oauth2,
                "authorization_endpoint, token_endpoint",
            ),
            (
                |p| {
                    p.client_secret = Some(SecretString::from("s"));
                    p.client_secret_file = Some("/run/s".into());
                },
                "not both",
            ),
        ];
        for (breaks, says) in cases {
            let mut broken = provider();
            breaks(&mut broken);
            let error = check(vec![broken], CookieSameSite::Lax).unwrap_err();
            assert!(error.contains(says), "{error}");
        }
        let twice = check(vec![provider(), provider()], CookieSameSite::Lax).unwrap_err();
        assert!(twice.contains("used twice"), "{twice}");
        let strict = check(vec![provider()], CookieSameSite::Strict).unwrap_err();
        assert!(strict.contains("cookie_same_site"), "{strict}");
        assert_eq!(
            check(vec![], CookieSameSite::Strict),
            Ok(()),
            "no providers, no rule"
        );
    }
}
