//! Which client authentication method a request presented (`presented`).

use super::*;

fn params(pairs: &[(&str, &str)]) -> Params {
    Params::from_pairs(pairs)
}

fn basic() -> Option<(String, String)> {
    Some(("demo-web".into(), "s3cret".into()))
}

/// A JWT-shaped assertion whose payload names `sub` (the signature is checked later).
fn assertion(sub: &str) -> String {
    let payload = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"iss":"{sub}","sub":"{sub}","aud":"x","exp":1,"jti":"j"}}"#
    ));
    format!("e30.{payload}.sig")
}

#[test]
fn each_method_is_recognised() {
    let none = presented(None, &params(&[("client_id", "demo-spa")])).unwrap();
    assert_eq!(none.method(), AuthMethod::None);
    let by_basic = presented(basic(), &params(&[])).unwrap();
    assert_eq!(by_basic.method(), AuthMethod::ClientSecretBasic);
    assert_eq!(by_basic.client_id().as_str(), "demo-web");
    let post = params(&[("client_id", "demo-web"), ("client_secret", "s")]);
    assert_eq!(
        presented(None, &post).unwrap().method(),
        AuthMethod::ClientSecretPost
    );
    let jwt = assertion("demo-web");
    let by_jwt = params(&[
        ("client_assertion_type", JWT_BEARER_ASSERTION),
        ("client_assertion", &jwt),
    ]);
    let found = presented(None, &by_jwt).unwrap();
    assert_eq!(found.method(), AuthMethod::PrivateKeyJwt);
    assert_eq!(found.client_id().as_str(), "demo-web");
}

#[test]
fn two_methods_or_conflicting_ids_are_refused() {
    let both = params(&[("client_secret", "s")]);
    assert_eq!(
        presented(basic(), &both).unwrap_err().code(),
        "invalid_request"
    );
    let other = params(&[("client_id", "someone-else")]);
    assert_eq!(
        presented(basic(), &other).unwrap_err().code(),
        "invalid_request"
    );
    let jwt = assertion("demo-web");
    let mismatch = params(&[
        ("client_id", "demo-spa"),
        ("client_assertion_type", JWT_BEARER_ASSERTION),
        ("client_assertion", &jwt),
    ]);
    assert_eq!(
        presented(None, &mismatch).unwrap_err().code(),
        "invalid_client"
    );
}

#[test]
fn missing_or_malformed_identification_is_invalid_client() {
    assert_eq!(
        presented(None, &params(&[])).unwrap_err().code(),
        "invalid_client"
    );
    let long = "a".repeat(300);
    let too_long = params(&[("client_id", &long)]);
    assert_eq!(
        presented(None, &too_long).unwrap_err().code(),
        "invalid_client"
    );
    let bad_type = params(&[
        ("client_assertion_type", "other"),
        ("client_assertion", "x"),
    ]);
    assert_eq!(
        presented(None, &bad_type).unwrap_err().code(),
        "invalid_request"
    );
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// One segment of a compact JWS as a stranger might send it.
    fn segment() -> impl Strategy<Value = String> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..64).prop_map(|b| b64(&b)),
            "[A-Za-z0-9_=+/-]{0,40}",
            Just(b64(br#"{"alg":"RS256","typ":"JWT"}"#)),
            Just(b64(br#"{"sub":null,"iss":1}"#)),
            Just(b64(
                br#"{"iss":"a","sub":"a","aud":["x"],"exp":1,"jti":"j"}"#
            )),
        ]
    }

    /// Any text, or dot-separated segments (a JWS has three).
    fn assertion_text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            proptest::collection::vec(segment(), 0..6).prop_map(|s| s.join(".")),
        ]
    }

    fn by_assertion(value: &str) -> Result<Presented, Error> {
        presented(
            None,
            &params(&[
                ("client_assertion_type", JWT_BEARER_ASSERTION),
                ("client_assertion", value),
            ]),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// RFC 7521 §4.2.1: an assertion that cannot be read is `invalid_client`.
        #[test]
        fn unreadable_assertions_are_invalid_client(raw in assertion_text()) {
            match by_assertion(&raw) {
                Ok(found) => {
                    let claims = unverified_claims(&raw).unwrap();
                    prop_assert_eq!(found.method(), AuthMethod::PrivateKeyJwt);
                    prop_assert_eq!(found.client_id().as_str(), claims.sub);
                }
                // An empty value is an absent one (RFC 6749 §3.1).
                Err(e) if raw.is_empty() => prop_assert_eq!(e.code(), "invalid_request"),
                Err(e) => prop_assert_eq!(e.code(), "invalid_client"),
            }
        }

        #[test]
        fn the_subject_of_readable_claims_names_the_client(
            sub in any::<String>(),
            header in "[A-Za-z0-9_-]{0,40}",
            signature in "[A-Za-z0-9_-]{0,40}",
        ) {
            let claims = serde_json::json!({"iss": sub, "sub": sub, "aud": "x", "exp": 1, "jti": "j"});
            let jwt = format!("{header}.{}.{signature}", b64(claims.to_string().as_bytes()));
            match by_assertion(&jwt) {
                Ok(found) => prop_assert_eq!(found.client_id().as_str(), sub.as_str()),
                Err(e) => {
                    prop_assert!(ClientId::parse(&sub).is_none());
                    prop_assert_eq!(e.code(), "invalid_client");
                }
            }
        }

        /// Whatever mix of credentials is sent, the answer is a method or a §5.2 refusal:
        /// `invalid_request` for a malformed request, `invalid_client` for its credentials.
        #[test]
        fn any_credentials_give_a_method_or_a_spec_refusal(
            basic in proptest::option::of((any::<String>(), any::<String>())),
            pairs in proptest::collection::vec((
                proptest::sample::select(vec![
                    "client_id", "client_secret", "client_assertion_type", "client_assertion",
                ]),
                prop_oneof![
                    Just(JWT_BEARER_ASSERTION.to_owned()),
                    Just("demo-web".to_owned()),
                    assertion_text(),
                ],
            ), 0..5),
        ) {
            let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let basic_sent = basic.is_some();
            match presented(basic, &params(&pairs)) {
                Ok(found) => prop_assert!(ClientId::parse(found.client_id().as_str()).is_some()),
                Err(Error::InvalidClient { basic, .. }) => {
                    prop_assert!(!basic || basic_sent);
                }
                Err(e) => prop_assert_eq!(e.code(), "invalid_request"),
            }
        }
    }
}
