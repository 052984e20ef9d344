//! Roles in tokens: with the `roles` scope the access token, the id_token and userinfo
//! carry the user's roles; without it none of them does.

use base64::Engine;

use crate::backend_tests;
use crate::flow::*;
use crate::helpers::{Backend, TestApp};

backend_tests!(roles_are_in_every_token_only_with_the_roles_scope);

fn payload(jwt: &str) -> serde_json::Value {
    let part = jwt.split('.').nth(1).unwrap();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&raw).unwrap()
}

/// The admin's tokens and userinfo for `scope`, through the code flow.
async fn admin_tokens(app: &TestApp, scope: &str) -> [serde_json::Value; 3] {
    let (verifier, challenge) = pkce_pair();
    let url = authorize_url(app, &standard_params(SPA, &challenge, scope));
    let back = drive(
        app,
        &app.http,
        &url,
        "admin@example.com",
        "Admin@123",
        Choice::Allow,
    )
    .await;
    let code = query(&back)["code"].clone();
    let tokens: serde_json::Value = exchange_code(app, SPA, &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let userinfo: serde_json::Value = app
        .http
        .get(app.url("/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    [
        payload(access),
        payload(tokens["id_token"].as_str().unwrap()),
        userinfo,
    ]
}

async fn roles_are_in_every_token_only_with_the_roles_scope(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let with = admin_tokens(&app, "openid roles").await;
    let without = admin_tokens(&app, "openid profile").await;

    for (what, claims) in ["access token", "id_token", "userinfo"].iter().zip(&with) {
        assert_eq!(claims["roles"], serde_json::json!(["admin"]), "{what}");
    }
    for (what, claims) in ["access token", "id_token", "userinfo"]
        .iter()
        .zip(&without)
    {
        assert!(claims.get("roles").is_none(), "no roles in the {what}");
    }
}
