//! Each counter moves when, and only when, what it counts happens: tokens by grant and
//! client type, sign-ins by outcome, a refresh token's reuse, a code's replay, a rate
//! limit's refusal, and the session estimate.

use std::time::Duration;

use crate::abuse::{browser, login_form, sign_in, submit};
use crate::backend_tests;
use crate::flow::*;
use crate::helpers::{Backend, TestApp};

use super::exposition::Scrape;
use super::scrape;

backend_tests!(
    tokens_are_counted_by_grant_and_client_type,
    a_replayed_code_and_a_reused_refresh_token_are_counted,
    sign_ins_are_counted_by_outcome,
    a_wrong_second_factor_is_counted,
    rate_limit_refusals_are_counted_by_limit,
);

fn tokens(scrape: &Scrape, grant: &str, client: &str) -> f64 {
    let labels = [("grant_type", grant), ("client_type", client)];
    scrape.value("gatehouse_tokens_issued_total", &labels)
}

fn logins(scrape: &Scrape, outcome: &str) -> f64 {
    scrape.value("gatehouse_logins_total", &[("outcome", outcome)])
}

async fn json(response: reqwest::Response) -> serde_json::Value {
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn tokens_are_counted_by_grant_and_client_type(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (code, verifier) = obtain_code(&app, SPA, "openid offline_access").await;
    let issued = json(exchange_code(&app, SPA, &code, &verifier).await).await;
    let refresh_token = issued["refresh_token"].as_str().unwrap();
    json(refresh(&app, SPA, refresh_token).await).await;
    let machine = token_request(&app, WEB, &[("grant_type", "client_credentials")]).await;
    json(machine).await;

    let scrape = scrape(&app).await;

    assert_eq!(tokens(&scrape, "authorization_code", "public"), 1.0);
    assert_eq!(tokens(&scrape, "refresh_token", "public"), 1.0);
    assert_eq!(tokens(&scrape, "client_credentials", "confidential"), 1.0);
    assert_eq!(tokens(&scrape, "authorization_code", "confidential"), 0.0);
    assert_eq!(logins(&scrape, "success"), 1.0);
    assert_eq!(scrape.value("gatehouse_sessions_active", &[]), 1.0);
    assert!(scrape.value("gatehouse_argon2_queue_wait_seconds_count", &[]) >= 1.0);
    assert_eq!(scrape.value("gatehouse_argon2_queue_depth", &[]), 0.0);
}

async fn a_replayed_code_and_a_reused_refresh_token_are_counted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (code, verifier) = obtain_code(&app, SPA, "openid offline_access").await;
    let issued = json(exchange_code(&app, SPA, &code, &verifier).await).await;
    let first = issued["refresh_token"].as_str().unwrap();
    json(refresh(&app, SPA, first).await).await;
    let quiet = scrape(&app).await;

    let replay = exchange_code(&app, SPA, &code, &verifier).await;
    let reuse = refresh(&app, SPA, first).await;
    let after = scrape(&app).await;

    assert_eq!(json_error(replay).await, (400, "invalid_grant".into()));
    assert_eq!(json_error(reuse).await, (400, "invalid_grant".into()));
    let replays = "gatehouse_authorization_code_replays_total";
    let reuses = "gatehouse_refresh_token_reuse_detected_total";
    assert_eq!(
        (quiet.value(replays, &[]), after.value(replays, &[])),
        (0.0, 1.0)
    );
    assert_eq!(
        (quiet.value(reuses, &[]), after.value(reuses, &[])),
        (0.0, 1.0)
    );
    assert_eq!(
        tokens(&after, "refresh_token", "public"),
        1.0,
        "a refusal issues nothing"
    );
}

async fn sign_ins_are_counted_by_outcome(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.lockout.failures = 3).await;
    let wrong = sign_in(&app, &browser(None), USER_EMAIL, "not-the-password").await;
    let stranger = sign_in(&app, &browser(None), "nobody@example.com", "whatever").await;
    let counted = scrape(&app).await;
    for again in ["still-wrong", "wrong-again"] {
        sign_in(&app, &browser(None), USER_EMAIL, again).await;
    }

    let locked = sign_in(&app, &browser(None), USER_EMAIL, PASSWORD_OF_USER).await;
    let after = scrape(&app).await;

    assert!(wrong.is_wrong_password() && stranger.is_wrong_password());
    assert!(
        locked.is_wrong_password(),
        "a locked account answers as a wrong password"
    );
    // An unknown email counts as a wrong password: the metrics tell no more than the page.
    assert_eq!(logins(&counted, "wrong_password"), 2.0);
    assert_eq!(logins(&after, "wrong_password"), 4.0);
    assert_eq!(logins(&after, "locked"), 1.0);
    assert_eq!(logins(&after, "success"), 0.0);
    app.advance_clock(Duration::from_secs(app.settings.lockout.delay_secs + 1));
    let signed_in = sign_in(&app, &browser(None), USER_EMAIL, PASSWORD_OF_USER).await;
    assert!(signed_in.signed_in());
    assert_eq!(logins(&scrape(&app).await, "success"), 1.0);
}

async fn a_wrong_second_factor_is_counted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    crate::mfa_login::enrol_totp(&app).await;
    let http = browser(None);
    let form = login_form(&app, &http).await;
    let request = [
        ("request", form.0.as_str()),
        ("csrf", form.1.as_str()),
        ("email", USER_EMAIL),
        ("password", PASSWORD_OF_USER),
    ];
    let passed = http
        .post(app.url("/login"))
        .form(&request)
        .send()
        .await
        .unwrap();
    let code_page = passed.headers()["location"].to_str().unwrap().to_owned();
    let page = http
        .get(app.url(&code_page))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let code = [
        ("challenge", hidden_field(&page, "challenge").unwrap()),
        ("csrf", hidden_field(&page, "csrf").unwrap()),
        ("code", "000000".to_owned()),
    ];

    let refused = http
        .post(app.url("/login/code"))
        .form(&code)
        .send()
        .await
        .unwrap();
    let scrape = scrape(&app).await;

    assert_eq!(refused.status(), 200, "the code page again");
    assert_eq!(logins(&scrape, "second_factor_failed"), 1.0);
    assert_eq!(
        logins(&scrape, "success"),
        0.0,
        "the password alone is no sign-in"
    );
    assert_eq!(scrape.value("gatehouse_sessions_active", &[]), 0.0);
}

async fn rate_limit_refusals_are_counted_by_limit(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.limits.login_per_ip.limit = 1;
        s.limits.login_per_ip.window_secs = 600;
    })
    .await;
    let http = browser(None);
    let first = sign_in(&app, &http, USER_EMAIL, "wrong-once").await;
    let form = login_form(&app, &http).await;

    let refused = submit(&app, &http, &form, USER_EMAIL, PASSWORD_OF_USER).await;
    let scrape = scrape(&app).await;

    assert!(first.is_wrong_password());
    assert_eq!(refused.status, 429);
    let limit = |name| scrape.value("gatehouse_rate_limit_rejections_total", &[("limit", name)]);
    assert_eq!(limit("login"), 1.0);
    assert_eq!(limit("login_failures"), 0.0);
}
