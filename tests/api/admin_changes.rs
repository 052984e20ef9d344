//! What an operator's change does to what is already out there, on both backends: a rotated
//! secret keeps working for its overlap and no longer; a deleted client's and a disabled
//! user's tokens are inactive at once at introspection and userinfo; a user's profile
//! changes only from the version the operator read.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use gatehouse::clock::Clock;

use crate::admin_api::{admin_token, call, machine_token};
use crate::backend_tests;
use crate::flow::{
    Choice, PASSWORD_OF_USER, REDIRECT, USER_EMAIL, authorize_url, drive, exchange_code, pkce_pair,
    query, standard_params, userinfo_status,
};
use crate::helpers::{Backend, TestApp};

backend_tests!(
    a_rotated_secret_works_for_its_overlap_and_no_longer,
    a_deleted_clients_tokens_are_inactive_at_once,
    a_disabled_users_tokens_are_inactive_at_once,
    a_users_profile_changes_only_from_the_version_read,
    a_machine_operator_manages_users_roles_sessions_and_consents,
);

const CLIENTS: &str = "/admin/api/v1/clients";

/// Asks `check` until it holds, for up to three seconds: a change reaches the caches of
/// every instance within the client cache's second.
async fn soon<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..30 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen within three seconds");
}

async fn client_credentials(app: &TestApp, id: &str, secret: &str) -> StatusCode {
    reqwest::Client::new()
        .post(app.url("/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .status()
}

async fn a_rotated_secret_works_for_its_overlap_and_no_longer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = admin_token(&app).await;
    let machine = json!({ "client_name": "Batch", "grant_types": ["client_credentials"] });
    let created: Value = call(&app, Method::POST, CLIENTS, Some(&admin), Some(machine))
        .await
        .json()
        .await
        .unwrap();
    let id = created["client_id"].as_str().unwrap().to_owned();
    let first = created["client_secret"].as_str().unwrap().to_owned();
    let rotate = format!("{CLIENTS}/{id}/secret");

    let rotated: Value = call(&app, Method::POST, &rotate, Some(&admin), None)
        .await
        .json()
        .await
        .unwrap();
    let second = rotated["client_secret"].as_str().unwrap().to_owned();
    let overlap_ends = rotated["previous_secret_expires_at"].as_i64().unwrap();
    let now = app.isolation.clock.now().secs();
    assert!((now + 86_390..=now + 86_400).contains(&overlap_ends));
    soon("the new secret working", || async {
        client_credentials(&app, &id, &second).await == StatusCode::OK
    })
    .await;
    assert_eq!(client_credentials(&app, &id, &first).await, StatusCode::OK);

    app.advance_clock(Duration::from_secs(86_401));
    soon("the old secret expiring", || async {
        client_credentials(&app, &id, &first).await == StatusCode::UNAUTHORIZED
    })
    .await;
    assert_eq!(client_credentials(&app, &id, &second).await, StatusCode::OK);

    // After a leak: no overlap, the secret in use stops at once.
    let admin = admin_token(&app).await;
    let at_once = format!("{rotate}?overlap_secs=0");
    let rotated: Value = call(&app, Method::POST, &at_once, Some(&admin), None)
        .await
        .json()
        .await
        .unwrap();
    assert!(rotated.get("previous_secret_expires_at").is_none());
    soon("the leaked secret stopping", || async {
        client_credentials(&app, &id, &second).await == StatusCode::UNAUTHORIZED
    })
    .await;
    let third = rotated["client_secret"].as_str().unwrap();
    assert_eq!(client_credentials(&app, &id, third).await, StatusCode::OK);

    let too_long = format!("{rotate}?overlap_secs=99999999");
    let refused = call(&app, Method::POST, &too_long, Some(&admin), None).await;
    assert_eq!(refused.status(), 400);
    let unknown = format!("{rotate}?overlap=5");
    let refused = call(&app, Method::POST, &unknown, Some(&admin), None).await;
    assert_eq!(refused.status(), 400);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
}

/// A resource server allowed to introspect every client's tokens (RFC 7662 §4).
async fn with_resource_server(app: &TestApp) {
    use gatehouse::clients::{AuthMethod, Client, ClientType, GrantType, digest};
    let server = Client {
        client_type: ClientType::Confidential,
        secret_sha256: Some(digest("rs-secret")),
        auth_methods: vec![AuthMethod::ClientSecretBasic],
        grant_types: vec![GrantType::ClientCredentials],
        introspect_any: true,
        ..Client::public("resource-server", "Resource server", vec![])
    };
    app.with_client(&server).await;
}

async fn introspected_active(app: &TestApp, token: &str) -> bool {
    let answer: Value = reqwest::Client::new()
        .post(app.url("/introspect"))
        .basic_auth("resource-server", Some("rs-secret"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["active"].as_bool().unwrap()
}

/// The demo user signs in through `client`; the access token.
async fn access_token(app: &TestApp, client: &str) -> String {
    let (verifier, challenge) = pkce_pair();
    let url = authorize_url(app, &standard_params(client, &challenge, "openid"));
    let browser = crate::helpers::http_client();
    let back = drive(
        app,
        &browser,
        &url,
        USER_EMAIL,
        PASSWORD_OF_USER,
        Choice::Allow,
    )
    .await;
    let code = query(&back)["code"].clone();
    let tokens: Value = exchange_code(app, client, &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    tokens["access_token"].as_str().unwrap().to_owned()
}

async fn a_deleted_clients_tokens_are_inactive_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    with_resource_server(&app).await;
    let admin = admin_token(&app).await;
    let spa = json!({
        "client_name": "Shop", "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code"], "token_endpoint_auth_method": "none",
    });
    let created: Value = call(&app, Method::POST, CLIENTS, Some(&admin), Some(spa))
        .await
        .json()
        .await
        .unwrap();
    let id = created["client_id"].as_str().unwrap();
    let token = access_token(&app, id).await;
    assert!(introspected_active(&app, &token).await);
    assert_eq!(userinfo_status(&app, &token).await, 200);

    let location = format!("{CLIENTS}/{id}");
    let deleted = call(&app, Method::DELETE, &location, Some(&admin), None).await;
    assert_eq!(deleted.status(), 204);
    soon("the token turning inactive", || async {
        !introspected_active(&app, &token).await
    })
    .await;
    assert_eq!(userinfo_status(&app, &token).await, 401);
}

async fn a_disabled_users_tokens_are_inactive_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    with_resource_server(&app).await;
    let admin = admin_token(&app).await;
    let token = access_token(&app, "demo-spa").await;
    assert!(introspected_active(&app, &token).await);

    let disable = format!("/admin/api/v1/users/{USER_EMAIL}/disable");
    let disabled = call(&app, Method::POST, &disable, Some(&admin), None).await;
    assert_eq!(disabled.status(), 200);
    soon("the token turning inactive", || async {
        !introspected_active(&app, &token).await
    })
    .await;
    assert_eq!(userinfo_status(&app, &token).await, 401);

    let enable = format!("/admin/api/v1/users/{USER_EMAIL}/enable");
    call(&app, Method::POST, &enable, Some(&admin), None).await;
    soon("the token standing again", || async {
        introspected_active(&app, &token).await
    })
    .await;
}

async fn patch(app: &TestApp, token: &str, tag: Option<&str>, body: Value) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .patch(app.url(&format!("/admin/api/v1/users/{USER_EMAIL}")))
        .bearer_auth(token);
    if let Some(tag) = tag {
        request = request.header("If-Match", tag);
    }
    request.json(&body).send().await.unwrap()
}

async fn a_users_profile_changes_only_from_the_version_read(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = admin_token(&app).await;
    let path = format!("/admin/api/v1/users/{USER_EMAIL}");
    let read = call(&app, Method::GET, &path, Some(&admin), None).await;
    let tag = read.headers()["etag"].to_str().unwrap().to_owned();
    let rename = json!({ "name": "Ada Lovelace" });

    assert_eq!(
        patch(&app, &admin, None, rename.clone()).await.status(),
        428
    );
    let renamed = patch(&app, &admin, Some(&tag), rename.clone()).await;
    assert_eq!(renamed.status(), 200);
    let new_tag = renamed.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(new_tag, tag, "a write changes the ETag");
    let renamed: Value = renamed.json().await.unwrap();
    assert_eq!(renamed["name"], "Ada Lovelace");
    assert_eq!(renamed["email"], USER_EMAIL);
    let stale = patch(&app, &admin, Some(&tag), json!({ "name": "Someone else" })).await;
    assert_eq!(stale.status(), 412, "the second writer is refused");

    let taken = json!({ "email": "admin@example.com" });
    let clash = patch(&app, &admin, Some(&new_tag), taken).await;
    assert_eq!(clash.status(), 409);
    let unknown = patch(&app, &admin, Some(&new_tag), json!({ "nickname": "x" })).await;
    assert_eq!(unknown.status(), 400);
    assert_eq!(
        unknown.headers()["content-type"],
        "application/problem+json"
    );
    let bad = patch(&app, &admin, Some(&new_tag), json!({ "email": "nobody" })).await;
    assert_eq!(bad.status(), 400);
    let problem: Value = bad.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "email", "{problem}");

    let moved = json!({ "email": "ada@example.com" });
    let moved = patch(&app, &admin, Some(&new_tag), moved).await;
    assert_eq!(moved.status(), 200);
    let moved: Value = moved.json().await.unwrap();
    assert_eq!(moved["email_verified"], true, "an operator vouches for it");
    let (verifier, challenge) = pkce_pair();
    let url = authorize_url(&app, &standard_params("demo-spa", &challenge, "openid"));
    let browser = crate::helpers::http_client();
    let back = drive(
        &app,
        &browser,
        &url,
        "ada@example.com",
        PASSWORD_OF_USER,
        Choice::Allow,
    )
    .await;
    let code = query(&back)["code"].clone();
    assert_eq!(
        exchange_code(&app, "demo-spa", &code, &verifier)
            .await
            .status(),
        200
    );
}

/// The admin API with a `gatehouse:admin` client-credentials token, as automation calls it:
/// every user, role, session and consent operation.
async fn a_machine_operator_manages_users_roles_sessions_and_consents(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let robot: Value = machine_token(&app, "gatehouse:admin")
        .await
        .json()
        .await
        .unwrap();
    let bearer = robot["access_token"].as_str().unwrap();
    let token = Some(bearer);
    let api = |path: &str| format!("/admin/api/v1{path}");
    let status = |response: reqwest::Response| response.status().as_u16();

    let role = json!({ "name": "billing" });
    let made = call(&app, Method::POST, &api("/roles"), token, Some(role)).await;
    assert_eq!(status(made), 201);
    let roles: Value = call(&app, Method::GET, &api("/roles"), token, None)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        roles
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "billing")
    );
    let ann = json!({ "email": "ann@example.com", "password": crate::accounts::STRONG });
    let ann: Value = call(&app, Method::POST, &api("/users"), token, Some(ann))
        .await
        .json()
        .await
        .unwrap();
    let id = ann["id"].as_str().unwrap().to_owned();
    let user = |rest: &str| api(&format!("/users/{id}{rest}"));
    let read = call(&app, Method::GET, &user(""), token, None).await;
    let tag = read.headers()["etag"].to_str().unwrap().to_owned();
    let renamed = reqwest::Client::new()
        .patch(app.url(&user("")))
        .bearer_auth(bearer)
        .header("If-Match", tag)
        .json(&json!({ "name": "Ann" }))
        .send()
        .await
        .unwrap();
    assert_eq!(status(renamed), 200);
    let given = json!({ "role": "billing" });
    let given: Value = call(&app, Method::POST, &user("/roles"), token, Some(given))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(given["roles"], json!(["billing"]));
    let taken = call(&app, Method::DELETE, &user("/roles/billing"), token, None).await;
    assert_eq!(status(taken), 200);
    let password = json!({ "password": "velvet-harbour-comet-77" });
    let set = call(&app, Method::PUT, &user("/password"), token, Some(password)).await;
    assert_eq!(status(set), 204);
    for (path, state) in [("/disable", true), ("/enable", false)] {
        let changed: Value = call(&app, Method::POST, &user(path), token, None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(changed["disabled"], state);
    }

    // The demo user's session and consent, seen and ended by the machine.
    access_token(&app, "demo-spa").await;
    let demo = api(&format!("/users/{USER_EMAIL}"));
    let sessions: Value = call(&app, Method::GET, &format!("{demo}/sessions"), token, None)
        .await
        .json()
        .await
        .unwrap();
    let sid = sessions[0]["sid"].as_str().unwrap().to_owned();
    let ended = call(
        &app,
        Method::DELETE,
        &format!("{demo}/sessions/{sid}"),
        token,
        None,
    )
    .await;
    assert_eq!(status(ended), 204);
    let consents: Value = call(&app, Method::GET, &format!("{demo}/consents"), token, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(consents[0]["client_id"], "demo-spa", "{consents}");
    let revoked = call(
        &app,
        Method::DELETE,
        &format!("{demo}/consents/demo-spa"),
        token,
        None,
    )
    .await;
    assert_eq!(status(revoked), 204);

    assert_eq!(
        status(call(&app, Method::DELETE, &user(""), token, None).await),
        204
    );
    assert_eq!(
        status(call(&app, Method::GET, &user(""), token, None).await),
        404
    );
}
