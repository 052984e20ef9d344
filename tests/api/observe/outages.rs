//! What an outage looks like in the metrics: a store that went away shows as store errors
//! and 503s, the session estimate follows sign-ins and their expiry.

use std::time::Duration;

use crate::faults::app_on_private_redis;
use crate::flow::*;
use crate::helpers::{Backend, TestApp};

use super::scrape;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_outage_is_counted_as_store_errors_and_5xx() {
    let (mut redis, app) = app_on_private_redis().await;
    let (code, verifier) = obtain_code(&app, SPA, "openid").await;
    let before = scrape(&app).await;
    redis.kill();

    let refused = exchange_code(&app, SPA, &code, &verifier).await;
    let after = scrape(&app).await;

    assert_eq!(
        json_error(refused).await,
        (503, "temporarily_unavailable".into())
    );
    let errors = "gatehouse_store_errors_total";
    let redis_calls = [("backend", "redis")];
    assert_eq!(before.sum(errors, &redis_calls), 0.0);
    assert!(
        after.sum(errors, &redis_calls) >= 1.0,
        "the failed call is counted"
    );
    let unavailable = [("route", "/token"), ("status", "503")];
    assert_eq!(
        after.sum("gatehouse_http_requests_total", &unavailable),
        1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_estimate_follows_sign_ins_and_their_expiry() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    obtain_code(&app, SPA, "openid").await;
    let (_, challenge) = pkce_pair();
    let mut params = standard_params(SPA, &challenge, "openid");
    params.push(("prompt", "login"));
    let again = authorize_url(&app, &params);
    let back = drive(
        &app,
        &app.http,
        &again,
        USER_EMAIL,
        PASSWORD_OF_USER,
        Choice::Allow,
    )
    .await;
    let signed_in = scrape(&app).await;

    app.advance_clock(Duration::from_secs(
        app.settings.sessions.ttl_secs as u64 + 3600,
    ));
    let expired = scrape(&app).await;

    assert!(query(&back).contains_key("code"), "{back}");
    // Signing in again in the same browser continues its session: still one.
    assert_eq!(
        signed_in.value("gatehouse_logins_total", &[("outcome", "success")]),
        2.0
    );
    assert_eq!(signed_in.value("gatehouse_sessions_active", &[]), 1.0);
    assert_eq!(expired.value("gatehouse_sessions_active", &[]), 0.0);
}
