//! Resource indicators (RFC 8707): the protected resources an access token is for, named by
//! absolute URIs without a fragment (§2), each allowed for the client. The access token's
//! `aud` is these resources, plus the issuer when `openid` was granted (so the token still
//! works at userinfo); without any, the issuer alone.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::Error;

/// At most this many resources in one request, each at most this long.
const MAX_COUNT: usize = 10;
const MAX_LEN: usize = 2048;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources(BTreeSet<String>);

impl Resources {
    /// The `resource` values of a request, checked for form (`invalid_target`, §2).
    pub fn parse(values: &[String]) -> Result<Self, Error> {
        if values.len() > MAX_COUNT {
            return Err(Error::InvalidTarget(format!(
                "at most {MAX_COUNT} resource values"
            )));
        }
        let mut set = BTreeSet::new();
        for value in values {
            let absolute = url::Url::parse(value).is_ok_and(|u| u.fragment().is_none());
            if !absolute || value.len() > MAX_LEN || value.contains('#') {
                return Err(Error::InvalidTarget(
                    "resource must be an absolute URI without a fragment".into(),
                ));
            }
            set.insert(value.clone());
        }
        Ok(Self(set))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every value is one the client may ask for.
    pub fn allowed_for(self, allowed: &[String]) -> Result<Self, Error> {
        if self.0.iter().all(|r| allowed.contains(r)) {
            Ok(self)
        } else {
            Err(Error::InvalidTarget(
                "resource is not one this client may ask for".into(),
            ))
        }
    }

    /// What a token request may narrow to (§2.2): its own values, all granted; none asked
    /// for means all that were granted.
    pub fn narrowed(&self, requested: &Resources) -> Result<Resources, Error> {
        if requested.is_empty() {
            return Ok(self.clone());
        }
        if requested.0.is_subset(&self.0) {
            Ok(requested.clone())
        } else {
            Err(Error::InvalidTarget(
                "resource was not part of the grant".into(),
            ))
        }
    }

    /// The access token's audience: the resources, and the issuer when `openid` was
    /// granted; the issuer alone when no resource was named.
    pub fn audience(&self, issuer: &str, openid: bool) -> Vec<String> {
        let mut audience: Vec<String> = self.0.iter().cloned().collect();
        if audience.is_empty() || openid {
            audience.push(issuer.to_owned());
        }
        audience
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(values: &[&str]) -> Result<Resources, Error> {
        Resources::parse(&values.iter().map(|v| (*v).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn only_absolute_uris_without_fragments() {
        assert!(of(&["https://api.example.com"]).is_ok());
        for bad in ["api", "/relative", "https://api.example.com#x", ""] {
            assert_eq!(of(&[bad]).unwrap_err().code(), "invalid_target", "{bad}");
        }
    }

    #[test]
    fn narrowing_and_audience() {
        let granted = of(&["https://a.example", "https://b.example"]).unwrap();
        let one = of(&["https://a.example"]).unwrap();
        assert_eq!(granted.narrowed(&one).unwrap(), one);
        assert_eq!(granted.narrowed(&Resources::default()).unwrap(), granted);
        assert!(one.narrowed(&granted).is_err());
        assert_eq!(one.audience("https://id", false), ["https://a.example"]);
        assert_eq!(
            one.audience("https://id", true),
            ["https://a.example", "https://id"]
        );
        assert_eq!(
            Resources::default().audience("https://id", false),
            ["https://id"]
        );
        assert!(
            one.clone()
                .allowed_for(&["https://a.example".into()])
                .is_ok()
        );
        assert!(one.allowed_for(&[]).is_err());
    }
}
