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
    // A failed login too, from a browser of its own, whose password must not show either.
    let wrong_password = "Wrong-Password-7731";
    assert!(
        failed_login(&app, wrong_password).await,
        "the wrong password was refused"
    );

    let logs = String::from_utf8_lossy(&captured_logs().lock().unwrap()).into_owned();
    assert!(logs.contains("request finished"), "logs were captured");
    assert!(
        logs.contains("login_failed") && logs.contains("wrong_password"),
        "the failed login was logged, with its reason"
    );
    let secrets = [
        PASSWORD_OF_USER,
        wrong_password,
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

/// Submits a wrong password on the login page of a fresh browser; true when it was refused.
async fn failed_login(app: &TestApp, password: &str) -> bool {
    let browser = crate::helpers::http_client();
    let (_, challenge) = pkce_pair();
    let start = authorize_url(app, &standard_params(WEB, &challenge, "openid"));
    let redirected = browser.get(&start).send().await.unwrap();
    assert_eq!(redirected.status(), 303);
    let login = redirected.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    let page = browser
        .get(app.url(&login))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = [
        ("request", hidden_field(&page, "request").unwrap()),
        ("csrf", hidden_field(&page, "csrf").unwrap()),
        ("email", USER_EMAIL.to_owned()),
        ("password", password.to_owned()),
    ];
    let answer = browser
        .post(app.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    status == 200
        && answer
            .text()
            .await
            .unwrap()
            .contains("Wrong email or password.")
}
