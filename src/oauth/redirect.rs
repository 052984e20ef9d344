//! Redirect URIs (RFC 6749 §3.1.2): compared with the registered ones by exact string
//! match only (RFC 9700 §4.1.1; OAuth 2.1 §2.3.1), never by prefix or pattern.

use super::Error;

/// Longest redirect URI we accept on the wire.
pub const MAX_LEN: usize = 2048;

/// A redirect URI as presented: non-empty and bounded; whether it is allowed is decided by
/// [`is_registered`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri(String);

impl RedirectUri {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        if raw.is_empty() || raw.len() > MAX_LEN {
            return Err(Error::invalid_request("redirect_uri is malformed"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Exact match against one of the registered URIs.
pub fn is_registered(registered: &[String], presented: &str) -> bool {
    registered.iter().any(|r| r == presented)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registered() -> Vec<String> {
        vec![
            "https://app.example/cb".into(),
            "http://127.0.0.1:8081/callback".into(),
        ]
    }

    #[test]
    fn only_an_exact_match_is_registered() {
        let r = registered();
        assert!(is_registered(&r, "https://app.example/cb"));
        for near in [
            "https://app.example/cb/",
            "https://app.example/cb?x=1",
            "https://app.example/cb#f",
            "https://APP.example/cb",
            "https://app.example/c",
            "https://app.example/cb/../cb",
            "http://127.0.0.1:8082/callback",
            "",
        ] {
            assert!(!is_registered(&r, near), "{near}");
        }
    }

    #[test]
    fn overlong_or_empty_values_are_refused() {
        assert!(RedirectUri::parse("").is_err());
        assert!(RedirectUri::parse(&"a".repeat(MAX_LEN + 1)).is_err());
        assert!(RedirectUri::parse("https://app.example/cb").is_ok());
    }
}
