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
