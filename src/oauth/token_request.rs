//! The token request (RFC 6749 §3.2, §4.1.3, §4.4.2, §6) parsed once from the form into the
//! grant it asks for; each grant receives its own variant, never the raw parameters.

use super::authorize::Params;
use super::pkce::CodeVerifier;
use super::redirect::RedirectUri;
use super::resource::Resources;
use super::{Error, Scopes};
use crate::clients::GrantType;

pub enum TokenRequest {
    AuthorizationCode(CodeExchange),
    RefreshToken(RefreshRequest),
    ClientCredentials(ClientCredentialsRequest),
}

/// §4.1.3 with PKCE (RFC 7636 §4.5).
#[derive(Debug)]
pub struct CodeExchange {
    pub code: String,
    /// Required when the authorization request carried one (checked against the code).
    pub redirect_uri: Option<RedirectUri>,
    pub code_verifier: Option<CodeVerifier>,
    /// RFC 8707 §2.2: narrows the resources of the grant.
    pub resources: Resources,
}

/// §6: a narrower `scope` may be asked for.
#[derive(Debug)]
pub struct RefreshRequest {
    pub refresh_token: String,
    pub scope: Option<Scopes>,
    pub resources: Resources,
}

/// §4.4.2.
#[derive(Debug)]
pub struct ClientCredentialsRequest {
    pub scope: Option<Scopes>,
    pub resources: Resources,
}

impl TokenRequest {
    /// §3.1: no parameter twice; §5.2: an unknown `grant_type` is `unsupported_grant_type`.
    pub fn parse(params: &Params) -> Result<Self, Error> {
        if let Some(name) = params.first_duplicate() {
            return Err(Error::invalid_request(format!(
                "parameter {name} is repeated"
            )));
        }
        let scope = || params.get("scope").map(Scopes::parse).transpose();
        let resources = || Resources::parse(params.all("resource"));
        match params.get("grant_type") {
            None => Err(Error::invalid_request("grant_type is missing")),
            Some("authorization_code") => Ok(Self::AuthorizationCode(CodeExchange {
                code: required(params, "code")?,
                redirect_uri: params
                    .get("redirect_uri")
                    .map(RedirectUri::parse)
                    .transpose()?,
                code_verifier: params
                    .get("code_verifier")
                    .map(CodeVerifier::parse)
                    .transpose()?,
                resources: resources()?,
            })),
            Some("refresh_token") => Ok(Self::RefreshToken(RefreshRequest {
                refresh_token: required(params, "refresh_token")?,
                scope: scope()?,
                resources: resources()?,
            })),
            Some("client_credentials") => Ok(Self::ClientCredentials(ClientCredentialsRequest {
                scope: scope()?,
                resources: resources()?,
            })),
            Some(other) => Err(Error::UnsupportedGrantType(format!(
                "grant_type {other} is not supported"
            ))),
        }
    }

    pub fn grant_type(&self) -> GrantType {
        match self {
            Self::AuthorizationCode(_) => GrantType::AuthorizationCode,
            Self::RefreshToken(_) => GrantType::RefreshToken,
            Self::ClientCredentials(_) => GrantType::ClientCredentials,
        }
    }
}

/// Longest value we accept for a code or refresh token (ours are 43 characters).
const MAX_TOKEN_LEN: usize = 512;

fn required(params: &Params, name: &str) -> Result<String, Error> {
    let value = params
        .get(name)
        .ok_or_else(|| Error::invalid_request(format!("{name} is missing")))?;
    if value.len() > MAX_TOKEN_LEN {
        return Err(Error::invalid_grant(format!("{name} is invalid")));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<TokenRequest, Error> {
        TokenRequest::parse(&Params::from_pairs(pairs))
    }

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    #[test]
    fn each_grant_type_becomes_its_variant() {
        let code = parse(&[
            ("grant_type", "authorization_code"),
            ("code", "abc"),
            ("redirect_uri", "http://127.0.0.1:8081/callback"),
            ("code_verifier", VERIFIER),
        ]);
        let Ok(TokenRequest::AuthorizationCode(exchange)) = code else {
            panic!("an authorization_code request");
        };
        assert_eq!(exchange.code, "abc");
        assert_eq!(
            exchange.redirect_uri.unwrap().as_str(),
            "http://127.0.0.1:8081/callback"
        );
        let refresh = parse(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "rt"),
            ("scope", "openid"),
        ]);
        assert!(matches!(refresh, Ok(TokenRequest::RefreshToken(r)) if r.scope.is_some()));
        let cc = parse(&[("grant_type", "client_credentials")]);
        assert!(matches!(cc, Ok(TokenRequest::ClientCredentials(c)) if c.scope.is_none()));
    }

    #[test]
    fn missing_unknown_and_repeated_are_the_spec_errors() {
        assert_eq!(parse(&[]).err().unwrap().code(), "invalid_request");
        let unknown = parse(&[("grant_type", "password")]).err().unwrap();
        assert_eq!(unknown.code(), "unsupported_grant_type");
        let no_code = parse(&[("grant_type", "authorization_code")])
            .err()
            .unwrap();
        assert_eq!(no_code.code(), "invalid_request");
        let twice = parse(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "a"),
            ("refresh_token", "b"),
        ]);
        assert_eq!(twice.err().unwrap().code(), "invalid_request");
        let bad_scope = parse(&[("grant_type", "client_credentials"), ("scope", "a\"b")]);
        assert_eq!(bad_scope.err().unwrap().code(), "invalid_scope");
    }

    #[test]
    fn a_malformed_verifier_is_invalid_grant() {
        let short = parse(&[
            ("grant_type", "authorization_code"),
            ("code", "abc"),
            ("code_verifier", "short"),
        ]);
        assert_eq!(short.err().unwrap().code(), "invalid_grant");
    }

    fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
        let key = prop_oneof![
            Just("grant_type".to_owned()),
            Just("code".to_owned()),
            Just("refresh_token".to_owned()),
            Just("scope".to_owned()),
            Just("redirect_uri".to_owned()),
            Just("code_verifier".to_owned()),
            "[a-z_]{1,12}",
        ];
        let value = prop_oneof![
            Just("authorization_code".to_owned()),
            Just("refresh_token".to_owned()),
            Just("client_credentials".to_owned()),
            Just(VERIFIER.to_owned()),
            any::<String>(),
        ];
        proptest::collection::vec((key, value), 0..8)
    }

    proptest! {
        #[test]
        fn parsing_never_panics_and_always_refuses_duplicates(pairs in pairs()) {
            let mut seen = std::collections::HashSet::new();
            let duplicated = pairs
                .iter()
                .any(|(k, _)| k != "resource" && !seen.insert(k.clone()));
            let parsed = TokenRequest::parse(&Params::new(pairs));
            if duplicated {
                prop_assert_eq!(parsed.err().map(|e| e.code()), Some("invalid_request"));
            }
        }
    }
}
