//! The account page: signing in to it, the profile, the password change and what it
//! revokes, and taking an application's access back.

use std::time::Duration;

use gatehouse::entities::{mail_outbox, users};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;

use crate::backend_tests;
use crate::flow::*;
use crate::helpers::{Backend, TestApp, http_client};

backend_tests!(
    signed_out_the_page_signs_in_and_comes_back,
    change_password_ends_other_sessions,
    a_password_change_revokes_tokens_whose_session_has_ended,
    a_refused_password_change_says_why_next_to_the_field,
    the_name_is_checked_and_saved,
    revoking_an_apps_consent_kills_its_refresh_tokens,
    an_unverified_email_offers_to_send_the_link_again,
);

const NEW_PASSWORD: &str = "violet-Harbor-7-quill";

/// The code flow in `http` for `client` as the demo user; the token response.
async fn tokens(app: &TestApp, http: &reqwest::Client, client: &str, scope: &str) -> Value {
    let (verifier, challenge) = pkce_pair();
    let url = authorize_url(app, &standard_params(client, &challenge, scope));
    let back = drive(app, http, &url, USER_EMAIL, PASSWORD_OF_USER, Choice::Allow).await;
    let code = query(&back)["code"].clone();
    let response = exchange_code(app, client, &code, &verifier).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// A page of the signed-in browser `http` (200 expected).
pub(crate) async fn page(app: &TestApp, http: &reqwest::Client, path: &str) -> String {
    let response = http.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "GET {path}");
    response.text().await.unwrap()
}

/// Posts a form of the account pages with its CSRF value.
pub(crate) async fn post(
    app: &TestApp,
    http: &reqwest::Client,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let csrf = hidden_field(&page(app, http, "/account").await, "csrf").unwrap();
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    http.post(app.url(path)).form(&form).send().await.unwrap()
}

/// Signs the demo user in at the account sign-in form; where it sends the browser (or the
/// status and page when it does not).
pub(crate) async fn sign_in(
    app: &TestApp,
    http: &reqwest::Client,
    password: &str,
    next: &str,
) -> String {
    let fields = [
        ("email", USER_EMAIL),
        ("password", password),
        ("next", next),
    ];
    let response = post(app, http, "/account/login", &fields).await;
    match response.status().as_u16() {
        303 => response.headers()["location"].to_str().unwrap().to_owned(),
        status => format!("{status}: {}", response.text().await.unwrap()),
    }
}

async fn change_password(
    app: &TestApp,
    http: &reqwest::Client,
    (current, new, confirm): (&str, &str, &str),
) -> reqwest::Response {
    let fields = [
        ("current_password", current),
        ("new_password", new),
        ("confirm_password", confirm),
    ];
    post(app, http, "/account/password", &fields).await
}

fn location(response: &reqwest::Response) -> &str {
    response.headers()["location"].to_str().unwrap()
}

async fn refresh_error(app: &TestApp, client: &str, tokens: &Value) -> (u16, String) {
    let token = tokens["refresh_token"].as_str().unwrap();
    json_error(refresh(app, client, token).await).await
}

/// The account page once the audit log has written `what` (it writes in batches).
pub(crate) async fn page_listing(app: &TestApp, http: &reqwest::Client, what: &str) -> String {
    for _ in 0..50 {
        let html = page(app, http, "/account").await;
        if html.contains(what) {
            return html;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the account page never listed {what:?}");
}

async fn signed_out_the_page_signs_in_and_comes_back(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let http = http_client();

    let response = http.get(app.url("/account")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["cache-control"], "no-store");
    let form = response.text().await.unwrap();
    assert!(form.contains(r#"action="/account/login""#) && form.contains(r#"name="password""#));
    assert_eq!(hidden_field(&form, "next").as_deref(), Some("/account"));

    for foreign in [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
    ] {
        let back = sign_in(&app, &http_client(), PASSWORD_OF_USER, foreign).await;
        assert_eq!(back, "/account", "{foreign} is not followed");
    }
    let back = sign_in(&app, &http, PASSWORD_OF_USER, "/account/sessions").await;
    assert_eq!(back, "/account/sessions");

    let html = page(&app, &http, "/account").await;
    for section in [
        "Profile",
        "Email",
        "Password",
        "Two-step verification",
        "Sessions",
        "Apps you've allowed",
        "Recent activity",
    ] {
        assert!(
            html.contains(&format!(">{section}</h2>")),
            "section {section}"
        );
    }
    assert!(html.contains(r#"value="Uma User""#) && html.contains(">verified<"));
    assert!(html.contains(r#"id="two-step-totp">off<"#) && html.contains(r#"id="manage-mfa""#));
    assert_eq!(
        html.matches("<form ").count(),
        html.matches(r#"name="csrf""#).count(),
        "every form carries the CSRF value"
    );
    assert!(html.contains(r#"autocomplete="current-password""#));
    assert_eq!(html.matches(r#"autocomplete="new-password""#).count(), 2);
    let sessions = page(&app, &http, "/account/sessions").await;
    assert!(
        sessions.contains("this browser"),
        "the old address still works"
    );
    page_listing(&app, &http, "Signed in").await;
}

async fn change_password_ends_other_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (laptop, phone) = (http_client(), http_client());
    let laptop_tokens = tokens(&app, &laptop, SPA, "openid offline_access").await;
    let phone_tokens = tokens(&app, &phone, SPA, "openid offline_access").await;

    let changed =
        change_password(&app, &phone, (PASSWORD_OF_USER, NEW_PASSWORD, NEW_PASSWORD)).await;

    assert_eq!(changed.status(), 303);
    assert_eq!(location(&changed), "/account?done=password#password-change");
    let invalid = (400, "invalid_grant".to_owned());
    assert_eq!(refresh_error(&app, SPA, &laptop_tokens).await, invalid);
    assert_eq!(
        refresh_error(&app, SPA, &phone_tokens).await,
        invalid,
        "tokens issued in this browser's session are revoked too"
    );
    let html = page(&app, &laptop, "/account").await;
    assert!(
        html.contains(r#"name="password""#),
        "the laptop is signed out"
    );
    let html = page(&app, &phone, "/account?done=password").await;
    assert!(
        html.contains("Password changed."),
        "this browser stays signed in"
    );
    assert_eq!(html.matches(r#"name="sid""#).count(), 1);
    let html = page_listing(&app, &phone, "Password changed<").await;
    assert!(html.contains("Session ended (password changed)"));

    let refused = sign_in(&app, &http_client(), PASSWORD_OF_USER, "/account").await;
    assert!(
        refused.contains("Wrong email or password."),
        "old password: {refused}"
    );
    let accepted = sign_in(&app, &http_client(), NEW_PASSWORD, "/account").await;
    assert_eq!(accepted, "/account", "the new password works");

    let db = app.isolation.connect().await;
    let mails = mail_outbox::Entity::find()
        .filter(mail_outbox::Column::Recipient.eq(USER_EMAIL))
        .all(&db)
        .await
        .unwrap();
    assert_eq!(mails.len(), 1, "one notice is queued");
    assert_eq!(mails[0].subject, "Your password was changed");
    assert!(mails[0].text_body.contains("/password/forgot"));
}

async fn a_password_change_revokes_tokens_whose_session_has_ended(backend: Backend) {
    let short = TestApp::spawn_with(backend, |s| s.sessions.ttl_secs = 2).await;
    let app = TestApp::spawn_on(short.isolation.clone(), |_| {}).await;
    let laptop = http_client();
    let old = tokens(&short, &laptop, SPA, "openid offline_access").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let html = page(&short, &laptop, "/account").await;
    assert!(
        html.contains(r#"name="password""#),
        "the laptop's session has ended"
    );
    let rotated: Value = refresh(&app, SPA, old["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert!(rotated["refresh_token"].is_string(), "its tokens live on");

    let phone = http_client();
    assert_eq!(
        sign_in(&app, &phone, PASSWORD_OF_USER, "/account").await,
        "/account"
    );
    let changed =
        change_password(&app, &phone, (PASSWORD_OF_USER, NEW_PASSWORD, NEW_PASSWORD)).await;

    assert_eq!(changed.status(), 303);
    assert_eq!(
        refresh_error(&app, SPA, &rotated).await,
        (400, "invalid_grant".to_owned())
    );
}

async fn a_refused_password_change_says_why_next_to_the_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let http = http_client();
    let tokens = tokens(&app, &http, SPA, "openid offline_access").await;
    let cases = [
        (
            ("not-my-password", NEW_PASSWORD, NEW_PASSWORD),
            r#"id="current_password-error">That is not your current password."#,
        ),
        (
            (PASSWORD_OF_USER, "short", "short"),
            r#"id="new_password-error">Use at least 8 characters."#,
        ),
        (
            (PASSWORD_OF_USER, "password1", "password1"),
            r#"id="new_password-error">This password is too easy to guess"#,
        ),
        (
            (PASSWORD_OF_USER, USER_EMAIL, USER_EMAIL),
            r#"id="new_password-error">This password is too easy to guess"#,
        ),
        (
            (PASSWORD_OF_USER, NEW_PASSWORD, "violet-Harbor-7-quil"),
            r#"id="confirm_password-error">This does not match the new password."#,
        ),
    ];
    for (fields, error) in cases {
        let refused = change_password(&app, &http, fields).await;
        assert_eq!(refused.status(), 200, "the form again, for {fields:?}");
        let html = refused.text().await.unwrap();
        assert!(html.contains(error), "{error} in {html}");
        assert!(hidden_field(&html, "csrf").is_some());
        let password_inputs = html.split(r#"type="password""#).skip(1);
        for input in password_inputs.map(|rest| rest.split('>').next().unwrap()) {
            assert!(!input.contains("value="), "passwords are never shown back");
        }
    }
    let forged = http
        .post(app.url("/account/password"))
        .form(&[
            ("csrf", "forged"),
            ("current_password", PASSWORD_OF_USER),
            ("new_password", NEW_PASSWORD),
            ("confirm_password", NEW_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403, "CSRF-protected");

    let refreshed = refresh(&app, SPA, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refreshed.status(), 200, "nothing was revoked");
    assert_eq!(
        sign_in(&app, &http_client(), PASSWORD_OF_USER, "").await,
        "/account"
    );
    page_listing(
        &app,
        &http,
        "Wrong current password given to change the password",
    )
    .await;
}

async fn the_name_is_checked_and_saved(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (code, verifier) = obtain_code(&app, SPA, "openid profile").await;
    let tokens: Value = exchange_code(&app, SPA, &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let long = "n".repeat(101);
    for (name, error) in [
        ("   ", "Enter your name."),
        (long.as_str(), "Use at most 100 characters."),
        (
            "Uma\u{7}User",
            "Use letters, digits, spaces and punctuation only.",
        ),
    ] {
        let refused = post(&app, &app.http, "/account/profile", &[("name", name)]).await;
        assert_eq!(refused.status(), 200);
        let html = refused.text().await.unwrap();
        assert!(
            html.contains(&format!(r#"id="name-error">{error}"#)),
            "{error}"
        );
        assert!(html.contains(r#"aria-invalid="true""#));
    }

    let saved = post(
        &app,
        &app.http,
        "/account/profile",
        &[("name", "  Uma Q. User ")],
    )
    .await;

    assert_eq!(saved.status(), 303);
    assert_eq!(location(&saved), "/account?done=profile#profile");
    let html = page(&app, &app.http, "/account?done=profile").await;
    assert!(html.contains(r#"value="Uma Q. User""#) && html.contains("Profile saved."));
    let access_token = tokens["access_token"].as_str().unwrap();
    let claims: Value = reqwest::Client::new()
        .get(app.url("/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(claims["name"], "Uma Q. User");
    page_listing(&app, &app.http, "Profile updated").await;
}

async fn revoking_an_apps_consent_kills_its_refresh_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let spa = tokens(&app, &app.http, SPA, "openid email offline_access").await;
    let web = tokens(&app, &app.http, WEB, "openid offline_access").await;
    let html = page(&app, &app.http, "/account").await;
    assert!(html.contains("Demo SPA") && html.contains("Demo Web App"));
    assert!(html.contains("See your email address"), "scopes in words");
    assert!(html.contains("Remove access"));

    let revoked = post(
        &app,
        &app.http,
        "/account/apps/revoke",
        &[("client_id", SPA)],
    )
    .await;

    assert_eq!(revoked.status(), 303);
    assert_eq!(location(&revoked), "/account?done=app#apps");
    assert_eq!(
        refresh_error(&app, SPA, &spa).await,
        (400, "invalid_grant".to_owned())
    );
    let other = refresh(&app, WEB, web["refresh_token"].as_str().unwrap()).await;
    assert_eq!(other.status(), 200, "other applications keep their access");
    let (_, challenge) = pkce_pair();
    let again = authorize_url(&app, &standard_params(SPA, &challenge, "openid"));
    let (status, location, _) = navigate(&app, &again).await;
    assert_eq!(status, 303);
    assert!(
        location.unwrap().starts_with("/consent?"),
        "consent is asked again"
    );
    let html = page_listing(&app, &app.http, "Removed an application").await;
    assert!(!html.contains("Demo SPA") && html.contains("Demo Web App"));
}

async fn an_unverified_email_offers_to_send_the_link_again(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(
        sign_in(&app, &app.http, PASSWORD_OF_USER, "/account").await,
        "/account"
    );
    let html = page(&app, &app.http, "/account").await;
    assert!(!html.contains(r#"action="/account/email/resend""#));

    let db = app.isolation.connect().await;
    users::Entity::update_many()
        .col_expr(
            users::Column::EmailVerified,
            sea_orm::sea_query::Expr::value(false),
        )
        .filter(users::Column::Email.eq(USER_EMAIL))
        .exec(&db)
        .await
        .unwrap();

    let html = page(&app, &app.http, "/account").await;
    assert!(html.contains(">not verified<"));
    let form = html
        .split(r#"action="/account/email/resend""#)
        .nth(1)
        .unwrap();
    let form = form.split("</form>").next().unwrap();
    assert!(
        form.contains(r#"name="csrf""#),
        "the resend form carries the CSRF value"
    );
}
