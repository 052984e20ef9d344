//! The signing keys through the admin API, on both backends: the key the JWKS publishes,
//! named as it is there and marked as the one that signs, with nothing private in sight.

use reqwest::Method;
use serde_json::Value;

use crate::admin_api::{admin_token, call, user_token};
use crate::backend_tests;
use crate::helpers::{Backend, TestApp};

backend_tests!(operators_see_the_published_keys_and_nothing_private);

const KEYS: &str = "/admin/api/v1/keys";

async fn operators_see_the_published_keys_and_nothing_private(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = admin_token(&app).await;
    let answer = call(&app, Method::GET, KEYS, Some(&token), None).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["cache-control"], "no-store");
    let listed: Value = answer.json().await.unwrap();
    let jwks: Value = app.get("/jwks").await.json().await.unwrap();

    let keys = listed["keys"].as_array().unwrap();
    let published = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), published.len(), "{listed}");
    let active: Vec<&Value> = keys.iter().filter(|k| k["state"] == "active").collect();
    let algs: Vec<&Value> = active.iter().map(|k| &k["alg"]).collect();
    assert_eq!(
        algs,
        ["RS256", "ES256", "EdDSA"],
        "one key signs per algorithm: {listed}"
    );
    let key = active[0];
    let jwk = published.iter().find(|j| j["kid"] == key["kid"]).unwrap();
    for member in ["kid", "kty", "alg", "use"] {
        assert_eq!(key[member], jwk[member], "{member}");
    }
    assert_eq!(key["alg"], "RS256");
    let created = key["created_at"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(created).is_ok(),
        "{created}"
    );
    for private in ["d", "p", "q", "dp", "dq", "qi", "private_key_jwe"] {
        assert!(key.get(private).is_none(), "{private} is shown");
    }

    assert_eq!(
        call(&app, Method::GET, KEYS, None, None).await.status(),
        401
    );
    let user = user_token(&app, "user@example.com", "User@123").await;
    let refused = call(&app, Method::GET, KEYS, Some(&user), None).await;
    assert_eq!(refused.status(), 403);
}
