//! Redis going away mid-flow: clear 503s (JSON for APIs, a page for pages), no panic, and
//! the same flow works again once Redis is back, without restarting Gatehouse.

use crate::flow::*;
use crate::helpers::{Backend, PrivateRedis, TestApp};

/// A server whose Redis this test can stop and start.
pub async fn app_on_private_redis() -> (PrivateRedis, TestApp) {
    let redis = PrivateRedis::start();
    let url = redis.url();
    let app = TestApp::spawn_with(Backend::Postgres, |s| {
        s.redis.url = Some(secrecy::SecretString::from(url));
        s.redis.timeout_ms = 500;
    })
    .await;
    (redis, app)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_gives_503_and_recovers() {
    let (mut redis, app) = app_on_private_redis().await;
    let (code, verifier) = obtain_code(&app, SPA, "openid offline_access").await;
    let tokens: serde_json::Value = exchange_code(&app, SPA, &code, &verifier)
        .await
        .json()
        .await
        .unwrap();

    redis.kill();

    let (_, challenge) = pkce_pair();
    let (status, _, body) = navigate(
        &app,
        &authorize_url(&app, &standard_params(SPA, &challenge, "openid")),
    )
    .await;
    assert_eq!(status, 503);
    assert!(body.contains("Temporarily unavailable"), "a friendly page");
    let refreshed = refresh(&app, SPA, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        json_error(refreshed).await,
        (503, "temporarily_unavailable".into())
    );
    assert_eq!(
        userinfo_status(&app, tokens["access_token"].as_str().unwrap()).await,
        503
    );

    redis.resume();

    let (code, verifier) = obtain_code(&app, SPA, "openid offline_access").await;
    let response = exchange_code(&app, SPA, &code, &verifier).await;
    assert_eq!(response.status(), 200, "the same flow works again");
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_during_an_outage_says_so_and_keeps_the_cookie() {
    let (mut redis, app) = app_on_private_redis().await;
    let (_, challenge) = pkce_pair();
    let start = authorize_url(&app, &standard_params(SPA, &challenge, "openid"));
    drive(
        &app,
        &app.http,
        &start,
        USER_EMAIL,
        PASSWORD_OF_USER,
        Choice::Allow,
    )
    .await;

    redis.kill();
    let response = app.http.get(app.url("/logout")).send().await.unwrap();

    assert_eq!(response.status(), 503, "not \"You have been signed out\"");
    let clears_cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("gatehouse_session="));
    assert!(
        !clears_cookie,
        "the session cookie stays until the session really ends"
    );
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Temporarily unavailable")
    );
}
