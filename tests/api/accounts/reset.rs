//! Password reset: the mailed link, the policy, and everything the old password allowed
//! ending with it.

use super::*;
use crate::backend_tests;
use crate::flow::*;
use crate::helpers::{Backend, TestApp, http_client};

backend_tests!(a_reset_ends_what_the_old_password_allowed);

async fn ask_for_reset(app: &TestApp, http: &reqwest::Client, email: &str) -> String {
    let page = http.get(app.url("/password/forgot")).send().await.unwrap();
    let html = page.text().await.unwrap();
    let answer = submit(app, http, &html, "/password/forgot", &[("email", email)]).await;
    assert_eq!(answer.status(), 200);
    answer.text().await.unwrap()
}

/// Signs in on the account page; whether the password was accepted.
async fn account_sign_in(app: &TestApp, email: &str, password: &str) -> bool {
    let http = http_client();
    let html = http
        .get(app.url("/account/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let answer = submit(
        app,
        &http,
        &html,
        "/account/login",
        &[("email", email), ("password", password)],
    )
    .await;
    answer.status() == 303
}

async fn a_reset_ends_what_the_old_password_allowed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (code, verifier) = obtain_code(&app, SPA, "openid offline_access").await;
    let tokens: serde_json::Value = exchange_code(&app, SPA, &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let old_refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    let other = http_client();
    let sent = ask_for_reset(&app, &other, " User@Example.com ").await;
    assert!(sent.contains("Check your mail"));
    let mail = wait_for_mail(&app, USER_EMAIL, "Reset your password", 1).await;
    assert!(mail.text.contains("30 minutes"));
    let form = other
        .get(mail.link())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let weak = submit(
        &app,
        &other,
        &form,
        "/password/reset",
        &[("password", "password123"), ("confirm", "password123")],
    )
    .await;
    let weak = weak.text().await.unwrap();
    assert!(weak.contains(r#"id="password-error""#) && weak.contains("too easy to guess"));
    let differ = submit(
        &app,
        &other,
        &form,
        "/password/reset",
        &[("password", STRONG), ("confirm", "something else")],
    )
    .await;
    assert!(
        differ
            .text()
            .await
            .unwrap()
            .contains(r#"id="confirm-error""#)
    );
    let done = submit(
        &app,
        &other,
        &form,
        "/password/reset",
        &[("password", STRONG), ("confirm", STRONG)],
    )
    .await;
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("Password changed"));

    let (status, error) = json_error(refresh(&app, SPA, &old_refresh).await).await;
    assert_eq!(
        (status, error.as_str()),
        (400, "invalid_grant"),
        "old refresh tokens are refused"
    );
    let (_, challenge) = pkce_pair();
    let mut silent = standard_params(SPA, &challenge, "openid");
    silent.push(("prompt", "none"));
    let answer = app
        .http
        .get(authorize_url(&app, &silent))
        .send()
        .await
        .unwrap();
    let back = answer.headers()["location"].to_str().unwrap();
    assert_eq!(
        query(back)["error"],
        "login_required",
        "the old session is over"
    );
    assert!(
        !account_sign_in(&app, USER_EMAIL, PASSWORD_OF_USER).await,
        "the old password is refused"
    );
    assert!(
        account_sign_in(&app, USER_EMAIL, STRONG).await,
        "the new one works"
    );
    wait_for_mail(&app, USER_EMAIL, "Your password was changed", 1).await;
    let reused = other.get(mail.link()).send().await.unwrap();
    assert_eq!(reused.status(), 400, "a reset link works once");
}

#[tokio::test]
async fn an_unknown_email_gets_the_same_page_and_no_mail() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let known = ask_for_reset(&app, &http_client(), USER_EMAIL).await;
    let unknown = ask_for_reset(&app, &http_client(), "nobody@example.com").await;
    let strip = |html: &str, email: &str| {
        html.replace(email, "EMAIL")
            .lines()
            .filter(|l| !l.contains("csrf"))
            .collect::<String>()
    };
    assert_eq!(
        strip(&known, USER_EMAIL),
        strip(&unknown, "nobody@example.com")
    );
    wait_for_mail(&app, USER_EMAIL, "Reset your password", 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(mails_to(&app, "nobody@example.com").is_empty());
}

#[tokio::test]
async fn a_reset_link_expires_and_a_reset_clears_the_lockout() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let http = http_client();
    ask_for_reset(&app, &http, USER_EMAIL).await;
    let first = wait_for_mail(&app, USER_EMAIL, "Reset your password", 1).await;
    app.advance_clock(std::time::Duration::from_secs(31 * 60));
    assert_eq!(
        http.get(first.link()).send().await.unwrap().status(),
        400,
        "expired"
    );

    for _ in 0..5 {
        assert!(!account_sign_in(&app, USER_EMAIL, "wrong guess").await);
    }
    assert!(
        !account_sign_in(&app, USER_EMAIL, PASSWORD_OF_USER).await,
        "locked"
    );
    ask_for_reset(&app, &http, USER_EMAIL).await;
    let second = wait_for_mail(&app, USER_EMAIL, "Reset your password", 2).await;
    let form = http
        .get(second.link())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    submit(
        &app,
        &http,
        &form,
        "/password/reset",
        &[("password", STRONG), ("confirm", STRONG)],
    )
    .await;
    assert!(
        account_sign_in(&app, USER_EMAIL, STRONG).await,
        "no lockout after the reset"
    );
}
