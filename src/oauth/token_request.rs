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
    use crate::oauth::error::allowed_in_description;

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
            Just("resource".to_owned()),
            "[a-z_]{1,12}",
        ];
        let value = prop_oneof![
            Just("authorization_code".to_owned()),
            Just("refresh_token".to_owned()),
            Just("client_credentials".to_owned()),
            Just(VERIFIER.to_owned()),
            Just("https://api.example/".to_owned()),
            any::<String>(),
        ];
        proptest::collection::vec((key, value), 0..8)
    }

    /// What an accepted request holds is what was sent, under the name it was sent as.
    fn agrees(parsed: &TokenRequest, params: &Params) -> Result<(), TestCaseError> {
        let resources = Resources::parse(params.all("resource")).unwrap();
        let scope = || params.get("scope").map(|s| Scopes::parse(s).unwrap());
        prop_assert_eq!(params.get("grant_type"), Some(parsed.grant_type().as_str()));
        match parsed {
            TokenRequest::AuthorizationCode(x) => {
                prop_assert_eq!(params.get("code"), Some(x.code.as_str()));
                let uri = x.redirect_uri.as_ref().map(RedirectUri::as_str);
                prop_assert_eq!(params.get("redirect_uri"), uri);
                let verifier = x.code_verifier.as_ref().map(CodeVerifier::as_str);
                prop_assert_eq!(params.get("code_verifier"), verifier);
                prop_assert_eq!(&x.resources, &resources);
            }
            TokenRequest::RefreshToken(r) => {
                prop_assert_eq!(params.get("refresh_token"), Some(r.refresh_token.as_str()));
                prop_assert_eq!(&r.scope, &scope());
                prop_assert_eq!(&r.resources, &resources);
            }
            TokenRequest::ClientCredentials(c) => {
                prop_assert_eq!(&c.scope, &scope());
                prop_assert_eq!(&c.resources, &resources);
            }
        }
        Ok(())
    }

    /// A well-formed request of each grant, its parameters in any order.
    fn well_formed() -> impl Strategy<Value = Vec<(String, String)>> {
        let grant = proptest::sample::select(vec![
            "authorization_code",
            "refresh_token",
            "client_credentials",
        ]);
        let optional = (
            proptest::option::of("https://[a-z]{1,10}\\.example/[a-z]{0,10}"),
            proptest::option::of("[A-Za-z0-9._~-]{43,128}"),
            proptest::option::of("[a-z]{1,8}( [a-z]{1,8}){0,3}"),
            proptest::collection::vec("https://[a-z]{1,8}\\.example/[a-z]{0,8}", 0..3),
        );
        (grant, "[A-Za-z0-9_-]{1,64}", optional).prop_flat_map(|(grant, token, optional)| {
            let (uri, verifier, scope, resources) = optional;
            let mut pairs = vec![("grant_type", grant.to_owned())];
            match grant {
                "authorization_code" => {
                    pairs.push(("code", token));
                    pairs.extend(uri.map(|u| ("redirect_uri", u)));
                    pairs.extend(verifier.map(|v| ("code_verifier", v)));
                }
                "refresh_token" => {
                    pairs.push(("refresh_token", token));
                    pairs.extend(scope.map(|s| ("scope", s)));
                }
                _ => pairs.extend(scope.map(|s| ("scope", s))),
            }
            pairs.extend(resources.into_iter().map(|r| ("resource", r)));
            let owned = pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            Just(owned).prop_shuffle()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn parsing_never_panics_and_always_refuses_duplicates(pairs in pairs()) {
            let mut seen = std::collections::HashSet::new();
            let duplicated = pairs
                .iter()
                .any(|(k, _)| k != "resource" && !seen.insert(k.clone()));
            let params = Params::new(pairs);
            match TokenRequest::parse(&params) {
                Ok(parsed) => {
                    prop_assert!(!duplicated);
                    agrees(&parsed, &params)?;
                }
                Err(e) => {
                    let sent = e.description();
                    prop_assert!(sent.chars().all(allowed_in_description), "{sent:?}");
                    if duplicated {
                        prop_assert_eq!(e.code(), "invalid_request");
                    }
                    prop_assert!(REFUSALS.contains(&e.code()), "{}", e.code());
                }
            }
        }

        #[test]
        fn every_well_formed_request_round_trips(pairs in well_formed()) {
            let params = Params::new(pairs);
            let parsed = TokenRequest::parse(&params);
            prop_assert!(parsed.is_ok(), "{:?}", parsed.err());
            agrees(&parsed.unwrap(), &params)?;
        }
    }

    /// The codes a token request can be refused with before any grant is looked at (§5.2,
    /// RFC 8707 §2).
    const REFUSALS: [&str; 5] = [
        "invalid_request",
        "invalid_grant",
        "invalid_scope",
        "invalid_target",
        "unsupported_grant_type",
    ];
}
