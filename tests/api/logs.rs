//! Nothing secret reaches the logs: a full flow, then a search for every secret it used.

use crate::flow::*;
use crate::helpers::{Backend, TestApp, captured_logs};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_password_code_or_token_is_logged() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let (code, verifier) = obtain_code(&app, SPA, "openid offline_access").await;
    let tokens: serde_json::Value = exchange_code(&app, SPA, &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let rt = tokens["refresh_token"].as_str().unwrap();
    let refreshed: serde_json::Value = refresh(&app, SPA, rt).await.json().await.unwrap();
    assert_eq!(
        userinfo_status(&app, tokens["access_token"].as_str().unwrap()).await,
        200
    );
    // A failed login too, whose password must not show either.
    let (_, challenge) = pkce_pair();
    let _ = drive(
        &app,
        &app.http,
        &authorize_url(&app, &standard_params(WEB, &challenge, "openid")),
        USER_EMAIL,
        PASSWORD_OF_USER,
        Choice::Allow,
    )
    .await;

    let logs = String::from_utf8_lossy(&captured_logs().lock().unwrap()).into_owned();
    assert!(logs.contains("request finished"), "logs were captured");
    let secrets = [
        PASSWORD_OF_USER,
        code.as_str(),
        verifier.as_str(),
        tokens["access_token"].as_str().unwrap(),
        tokens["id_token"].as_str().unwrap(),
        rt,
        refreshed["refresh_token"].as_str().unwrap(),
        refreshed["access_token"].as_str().unwrap(),
        "demo-web-secret",
    ];
    for secret in secrets {
        assert!(!logs.contains(secret), "a secret leaked into the logs");
    }
}
