//! Scope values (RFC 6749 §3.3): parsed once, kept sorted and de-duplicated.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::Error;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Scopes(BTreeSet<String>);

impl Scopes {
    /// Parses a space-delimited scope string; characters are checked by oxide-auth's `Scope`.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        raw.parse::<oxide_auth::primitives::scope::Scope>()
            .map_err(|_| {
                Error::InvalidScope("scope contains characters RFC 6749 section 3.3 forbids".into())
            })?;
        Ok(Self(
            raw.split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        ))
    }

    pub fn contains(&self, value: &str) -> bool {
        self.0.contains(value)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_subset(&self, other: &Scopes) -> bool {
        self.0.is_subset(&other.0)
    }

    /// Whether every value is in `allowed`.
    pub fn within(&self, allowed: &[String]) -> bool {
        self.0.iter().all(|s| allowed.iter().any(|a| a == s))
    }

    pub fn union(&self, other: &Scopes) -> Scopes {
        Scopes(self.0.union(&other.0).cloned().collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let joined: Vec<&str> = self.iter().collect();
        f.write_str(&joined.join(" "))
    }
}

impl From<Scopes> for String {
    fn from(s: Scopes) -> String {
        s.to_string()
    }
}

impl TryFrom<String> for Scopes {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        Scopes::parse(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sorted_and_deduplicated() {
        let s = Scopes::parse("profile openid  profile").unwrap();
        assert_eq!(s.to_string(), "openid profile");
        assert!(s.contains("openid"));
    }

    #[test]
    fn rejects_forbidden_characters() {
        assert!(Scopes::parse("open\"id").is_err());
    }

    #[test]
    fn subset_and_within() {
        let small = Scopes::parse("openid").unwrap();
        let big = Scopes::parse("openid email").unwrap();
        assert!(small.is_subset(&big));
        assert!(!big.is_subset(&small));
        assert!(big.within(&["openid".into(), "email".into(), "roles".into()]));
        assert!(!big.within(&["openid".into()]));
    }
}
