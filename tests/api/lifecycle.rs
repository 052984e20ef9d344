//! Tokens without a user in the loop: client credentials, revocation (RFC 7009) and
//! introspection (RFC 7662).

use crate::backend_tests;
use crate::flow::*;
use crate::helpers::{Backend, TestApp};

backend_tests!(
    client_credentials_within_allowed_scopes_only,
    revoking_a_refresh_token_ends_its_family,
    revoking_an_access_token_denies_it_everywhere,
    introspection_needs_an_authenticated_client,
    disabling_a_user_stops_their_grants,
);

async fn post_as_web(app: &TestApp, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url(path))
        .basic_auth(WEB, Some(WEB_SECRET))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn introspect(app: &TestApp, token: &str) -> serde_json::Value {
    post_as_web(app, "/introspect", &[("token", token)])
        .await
        .json()
        .await
        .unwrap()
}

async fn web_tokens(app: &TestApp) -> serde_json::Value {
    let (code, verifier) = obtain_code(app, WEB, "openid offline_access").await;
    exchange_code(app, WEB, &code, &verifier)
        .await
        .json()
        .await
        .unwrap()
}

async fn client_credentials_within_allowed_scopes_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let ok = post_as_web(
        &app,
        "/token",
        &[
            ("grant_type", "client_credentials"),
            ("scope", "profile email"),
        ],
    )
    .await;
    assert_eq!(ok.status(), 200);
    let body: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(body["scope"], "email profile");
    assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());
    let live = introspect(&app, body["access_token"].as_str().unwrap()).await;
    assert_eq!(live["active"], true);
    assert_eq!(live["sub"], WEB);

    for scope in ["openid", "admin", "profile offline_access"] {
        let denied = post_as_web(
            &app,
            "/token",
            &[("grant_type", "client_credentials"), ("scope", scope)],
        )
        .await;
        assert_eq!(
            json_error(denied).await,
            (400, "invalid_scope".into()),
            "{scope}"
        );
    }
    let public = token_request(&app, SPA, &[("grant_type", "client_credentials")]).await;
    assert_eq!(
        json_error(public).await,
        (400, "unauthorized_client".into())
    );
}

async fn revoking_a_refresh_token_ends_its_family(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = web_tokens(&app).await;
    let rt = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(introspect(&app, rt).await["active"], true);

    let revoked = post_as_web(
        &app,
        "/revoke",
        &[("token", rt), ("token_type_hint", "refresh_token")],
    )
    .await;

    assert_eq!(revoked.status(), 200);
    assert_eq!(
        json_error(refresh(&app, WEB, rt).await).await,
        (400, "invalid_grant".into())
    );
    assert_eq!(
        introspect(&app, rt).await,
        serde_json::json!({"active": false})
    );
    let other = web_tokens(&app).await;
    let foreign = other["refresh_token"].as_str().unwrap();
    let by_spa = reqwest::Client::new()
        .post(app.url("/revoke"))
        .form(&[("token", foreign), ("client_id", SPA)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        by_spa.status(),
        400,
        "a client may not revoke another client's token"
    );
    assert_eq!(introspect(&app, foreign).await["active"], true);
    let unknown = post_as_web(&app, "/revoke", &[("token", "no-such-token")]).await;
    assert_eq!(
        unknown.status(),
        200,
        "unknown tokens are not an error (RFC 7009 §2.2)"
    );
}

async fn revoking_an_access_token_denies_it_everywhere(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = web_tokens(&app).await;
    let access = tokens["access_token"].as_str().unwrap();
    let live = introspect(&app, access).await;
    assert_eq!(live["active"], true);
    assert_eq!(live["client_id"], WEB);
    assert_eq!(live["iss"], app.address);
    assert!(live["exp"].is_i64() && live["iat"].is_i64() && live["scope"].is_string());

    // The hint says refresh_token, but the server must still find the access token.
    let revoked = post_as_web(
        &app,
        "/revoke",
        &[("token", access), ("token_type_hint", "refresh_token")],
    )
    .await;

    assert_eq!(revoked.status(), 200);
    assert_eq!(
        introspect(&app, access).await,
        serde_json::json!({"active": false})
    );
    assert_eq!(userinfo_status(&app, access).await, 401);
}

async fn introspection_needs_an_authenticated_client(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = web_tokens(&app).await;
    let access = tokens["access_token"].as_str().unwrap();

    let anonymous = reqwest::Client::new()
        .post(app.url("/introspect"))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(json_error(anonymous).await, (401, "invalid_client".into()));
    let public = reqwest::Client::new()
        .post(app.url("/introspect"))
        .form(&[("token", access), ("client_id", SPA)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_error(public).await,
        (401, "invalid_client".into()),
        "public clients may not introspect"
    );
    let wrong = reqwest::Client::new()
        .post(app.url("/introspect"))
        .basic_auth(WEB, Some("wrong"))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        introspect(&app, "garbage.token.value").await,
        serde_json::json!({"active": false})
    );
}

/// A disabled account gets no more tokens: neither by refresh nor by a code issued before.
/// On PostgreSQL the "active" answer is cached and evicted by a NOTIFY, so allow its delivery
/// time, far below the cache's 30 s lifetime.
async fn disabling_a_user_stops_their_grants(backend: Backend) {
    use sea_orm::{ConnectionTrait, Statement};
    let app = TestApp::spawn(backend).await;
    let tokens = web_tokens(&app).await;
    let sub = introspect(&app, tokens["access_token"].as_str().unwrap()).await["sub"]
        .as_str()
        .unwrap()
        .to_owned();
    let (code, verifier) = obtain_code(&app, WEB, "openid offline_access").await;
    let mut rt = tokens["refresh_token"].as_str().unwrap().to_owned();
    let rotated: serde_json::Value = refresh(&app, WEB, &rt).await.json().await.unwrap();
    rt = rotated["refresh_token"].as_str().unwrap().to_owned();

    let db = app.isolation.connect().await;
    let disable = Statement::from_sql_and_values(
        db.get_database_backend(),
        "UPDATE users SET disabled = true WHERE id = $1",
        [sub.into()],
    );
    db.execute_raw(disable).await.unwrap();

    let started = std::time::Instant::now();
    let refused = loop {
        let response = refresh(&app, WEB, &rt).await;
        if response.status() == 200 {
            let body: serde_json::Value = response.json().await.unwrap();
            rt = body["refresh_token"].as_str().unwrap().to_owned();
            assert!(
                started.elapsed() < std::time::Duration::from_secs(1),
                "a disabled user still refreshes after {:?}",
                started.elapsed()
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            continue;
        }
        break json_error(response).await;
    };
    assert_eq!(refused, (400, "invalid_grant".into()));
    assert_eq!(
        json_error(exchange_code(&app, WEB, &code, &verifier).await).await,
        (400, "invalid_grant".into())
    );
}
