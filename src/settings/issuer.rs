//! The issuer identifier, parsed once from `server.issuer`.

use anyhow::bail;
use url::Url;

/// The issuer identifier (OIDC Core §2, RFC 8414 §2): an https (or local http) URL
/// without query or fragment, compared by exact string everywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    exact: String,
    base: String,
}

impl Issuer {
    pub fn parse(raw: &str) -> anyhow::Result<Self> {
        let url = Url::parse(raw).map_err(|e| {
            anyhow::anyhow!("invalid configuration: server.issuer {raw:?} is not a URL ({e})")
        })?;
        if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
            bail!("invalid configuration: server.issuer must be an http(s) URL with a host");
        }
        if url.query().is_some() || url.fragment().is_some() {
            bail!("invalid configuration: server.issuer must not have a query or fragment");
        }
        Ok(Self {
            exact: raw.to_owned(),
            base: raw.trim_end_matches('/').to_owned(),
        })
    }

    /// Exactly as configured: `iss` claims and metadata must match it byte for byte.
    pub fn as_str(&self) -> &str {
        &self.exact
    }

    pub fn is_https(&self) -> bool {
        self.exact.starts_with("https://")
    }

    /// An absolute URL of one of our endpoints.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_rejects_garbage_and_queries() {
        assert!(Issuer::parse("not a url").is_err());
        assert!(Issuer::parse("ftp://x").is_err());
        assert!(Issuer::parse("https://id.example.com?x=1").is_err());
        let issuer = Issuer::parse("https://id.example.com/").unwrap();
        assert_eq!(issuer.as_str(), "https://id.example.com/");
        assert_eq!(issuer.endpoint("/jwks"), "https://id.example.com/jwks");
    }
}
