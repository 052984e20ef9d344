//! `private_key_jwt` (RFC 7523 §2.2, OIDC Core §9) with a client's registered JWKS.

use josekit::jwk::KeyPair;
use josekit::jwk::alg::rsa::RsaKeyPair;
use josekit::jws::{JwsHeader, RS256};

use crate::backend_tests;
use crate::flow::json_error;
use crate::helpers::{Backend, TestApp};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

backend_tests!(private_key_jwt_accepts_good_assertions_only);

pub fn key_pair() -> RsaKeyPair {
    RS256.generate_key_pair(2048).unwrap()
}

pub async fn register(app: &TestApp, id: &str, key: &RsaKeyPair) {
    let mut public = key.to_jwk_public_key();
    public.set_key_id("k1");
    let jwks = serde_json::json!({ "keys": [serde_json::to_value(&public).unwrap()] });
    let mut client = gatehouse::demo::web_client();
    client.id = id.into();
    client.secret_sha256 = None;
    client.auth_methods = vec![gatehouse::clients::AuthMethod::PrivateKeyJwt];
    client.jwks = Some(jwks.to_string());
    app.with_client(&client).await;
}

fn assertion(key: &RsaKeyPair, client: &str, aud: &str, exp_offset: i64, jti: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = serde_json::json!({
        "iss": client, "sub": client, "aud": aud, "jti": jti, "iat": now, "exp": now + exp_offset,
    });
    signed(key, &claims)
}

/// A JWS of `claims` under `key` (kid `k1`).
pub fn signed(key: &RsaKeyPair, claims: &serde_json::Value) -> String {
    let mut header = JwsHeader::new();
    header.set_key_id("k1");
    let signer = RS256.signer_from_der(key.to_der_private_key()).unwrap();
    josekit::jws::serialize_compact(claims.to_string().as_bytes(), &header, &signer).unwrap()
}

pub async fn grant(app: &TestApp, assertion: &str) -> reqwest::Response {
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", "profile"),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion),
    ];
    reqwest::Client::new()
        .post(app.url("/token"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn private_key_jwt_accepts_good_assertions_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = key_pair();
    register(&app, "jwt-client", &key).await;
    let token_endpoint = app.url("/token");

    let good = assertion(&key, "jwt-client", &token_endpoint, 60, "jti-1");
    let ok = grant(&app, &good).await;
    assert_eq!(ok.status(), 200, "a valid assertion authenticates");

    assert_eq!(
        json_error(grant(&app, &good).await).await,
        (401, "invalid_client".into()),
        "replayed jti"
    );

    let wrong_key = assertion(&key_pair(), "jwt-client", &token_endpoint, 60, "jti-2");
    assert_eq!(
        json_error(grant(&app, &wrong_key).await).await,
        (401, "invalid_client".into()),
        "wrong key"
    );

    let expired = assertion(&key, "jwt-client", &token_endpoint, -10, "jti-3");
    assert_eq!(
        json_error(grant(&app, &expired).await).await,
        (401, "invalid_client".into()),
        "expired"
    );

    let wrong_aud = assertion(
        &key,
        "jwt-client",
        "https://elsewhere.example/token",
        60,
        "jti-4",
    );
    assert_eq!(
        json_error(grant(&app, &wrong_aud).await).await,
        (401, "invalid_client".into()),
        "audience"
    );

    let issuer_aud = assertion(&key, "jwt-client", &app.address, 60, "jti-5");
    assert_eq!(
        grant(&app, &issuer_aud).await.status(),
        200,
        "the issuer is an accepted audience"
    );
}
