//! The account's second-factor page: setting up an authenticator app from the key it shows,
//! the recovery codes shown once, making new ones and removing the app (each with the
//! password), codes by email (only to a verified address), and `next` carried through.

use base64::Engine;
use gatehouse::clock::Clock;
use gatehouse::entities::users;
use gatehouse::mfa::totp::TotpSecret;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::account::{page, page_listing, post, sign_in};
use crate::backend_tests;
use crate::flow::*;
use crate::helpers::{Backend, TestApp, http_client};

backend_tests!(
    an_authenticator_app_is_set_up_from_the_key_shown,
    the_page_leads_back_to_a_waiting_request,
    new_recovery_codes_replace_the_old_ones,
    the_app_is_removed_only_with_the_password,
    codes_by_email_go_only_to_a_verified_address,
    a_request_that_needs_two_steps_goes_on_once_one_is_set_up,
);

/// The text of the element with `id` (up to its first tag).
fn text_of(html: &str, id: &str) -> Option<String> {
    let marker = format!(r#"id="{id}">"#);
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('<')? + start;
    Some(html[start..end].to_owned())
}

/// The codes listed in `<ul id="recovery-codes">`.
fn recovery_codes(html: &str) -> Vec<String> {
    let list = html.split(r#"<ul id="recovery-codes""#).nth(1).unwrap();
    let list = list.split("</ul>").next().unwrap();
    list.split("<li><code>")
        .skip(1)
        .map(|item| item.split("</code>").next().unwrap().to_owned())
        .collect()
}

/// The current code of the key the page shows.
fn current_code(app: &TestApp, html: &str) -> String {
    let shown = text_of(html, "totp-secret").expect("the key is shown");
    let secret = TotpSecret::from_base32(&shown).expect("the key shown is a TOTP secret");
    secret.code_at(app.isolation.clock.now().secs() as u64)
}

/// A six-digit code that is not `code`.
fn other_than(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

async fn signed_in(app: &TestApp) -> reqwest::Client {
    let http = http_client();
    assert_eq!(
        sign_in(app, &http, PASSWORD_OF_USER, "/account").await,
        "/account"
    );
    http
}

/// Sets up the authenticator app in `http`; the recovery codes it showed.
async fn enrol(app: &TestApp, http: &reqwest::Client) -> Vec<String> {
    let begun = post(app, http, "/account/mfa/totp", &[]).await;
    assert_eq!(begun.status(), 303);
    let html = page(app, http, "/account/mfa").await;
    let code = current_code(app, &html);
    let confirmed = post(app, http, "/account/mfa/totp/confirm", &[("code", &code)]).await;
    assert_eq!(confirmed.status(), 200);
    recovery_codes(&confirmed.text().await.unwrap())
}

/// Signs in again in a new browser with a recovery code at the second step; the status and
/// where it leads (or the page).
async fn sign_in_with_recovery_code(app: &TestApp, code: &str) -> (u16, String) {
    let http = http_client();
    let step = sign_in(app, &http, PASSWORD_OF_USER, "/account").await;
    assert!(step.starts_with("/login/code?challenge="), "{step}");
    let html = page(app, &http, &step).await;
    let form = [
        ("challenge", hidden_field(&html, "challenge").unwrap()),
        ("csrf", hidden_field(&html, "csrf").unwrap()),
        ("code", code.to_owned()),
    ];
    let response = http
        .post(app.url("/login/code"))
        .form(&form)
        .send()
        .await
        .unwrap();
    match response.status().as_u16() {
        303 => (
            303,
            response.headers()["location"].to_str().unwrap().to_owned(),
        ),
        status => (status, response.text().await.unwrap()),
    }
}

async fn an_authenticator_app_is_set_up_from_the_key_shown(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let http = signed_in(&app).await;
    let html = page(&app, &http, "/account/mfa").await;
    assert!(html.contains(r#"id="setup-totp""#) && !html.contains(r#"id="totp-secret""#));
    assert_eq!(text_of(&html, "totp-status").as_deref(), Some("off"));

    let begun = post(&app, &http, "/account/mfa/totp", &[]).await;
    assert_eq!(begun.status(), 303);
    assert_eq!(begun.headers()["location"], "/account/mfa#authenticator");
    let html = page(&app, &http, "/account/mfa").await;
    assert!(html.contains("<svg") && html.contains(r#"id="confirm-totp""#));
    assert!(
        html.contains(
            r#"name="code" type="text" inputmode="numeric" autocomplete="one-time-code""#
        )
    );
    assert!(html.contains("otpauth://totp/Gatehouse:user%40example%2Ecom?secret="));
    let code = current_code(&app, &html);

    let wrong = post(
        &app,
        &http,
        "/account/mfa/totp/confirm",
        &[("code", other_than(&code))],
    )
    .await;
    assert_eq!(wrong.status(), 200);
    let html = wrong.text().await.unwrap();
    assert!(html.contains(r#"aria-invalid="true" aria-describedby="code-error""#));
    assert!(html.contains(r#"id="code-error""#) && html.contains(r#"id="totp-secret""#));

    let right = post(&app, &http, "/account/mfa/totp/confirm", &[("code", &code)]).await;
    assert_eq!(right.status(), 200);
    assert!(
        right.headers().get("set-cookie").is_some(),
        "the session is raised"
    );
    let html = right.text().await.unwrap();
    let codes = recovery_codes(&html);
    assert_eq!(codes.len(), 10, "{html}");
    assert!(html.contains(r#"<a href="/account/mfa" id="continue">"#));

    let html = page(&app, &http, "/account/mfa").await;
    assert_eq!(text_of(&html, "totp-status").as_deref(), Some("on"));
    assert_eq!(text_of(&html, "recovery-codes-left").as_deref(), Some("10"));
    assert!(!html.contains(&codes[0]), "the codes are shown once");
    let account = page_listing(
        &app,
        &http,
        "Two-step verification turned on (authenticator app)",
    )
    .await;
    assert_eq!(text_of(&account, "two-step-totp").as_deref(), Some("on"));
    assert_eq!(
        text_of(&account, "two-step-recovery").as_deref(),
        Some("10")
    );

    let again = sign_in(&app, &http_client(), PASSWORD_OF_USER, "/account").await;
    assert!(again.starts_with("/login/code?challenge="), "{again}");
}

async fn the_page_leads_back_to_a_waiting_request(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let http = signed_in(&app).await;
    let next = "/authorize/resume?request=abc";
    let html = page(
        &app,
        &http,
        "/account/mfa?next=%2Fauthorize%2Fresume%3Frequest%3Dabc",
    )
    .await;
    assert!(html.contains(r#"id="mfa-required""#));
    assert!(html.contains(&format!(r#"name="next" value="{next}""#)));
    let foreign = page(&app, &http, "/account/mfa?next=https://evil.example/").await;
    assert!(!foreign.contains(r#"id="mfa-required""#) && !foreign.contains(r#"name="next""#));

    let begun = post(&app, &http, "/account/mfa/totp", &[("next", next)]).await;
    assert_eq!(
        begun.headers()["location"],
        "/account/mfa?next=%2Fauthorize%2Fresume%3Frequest%3Dabc#authenticator"
    );
    let html = page(
        &app,
        &http,
        "/account/mfa?next=%2Fauthorize%2Fresume%3Frequest%3Dabc",
    )
    .await;
    assert!(html.contains(&format!(r#"name="next" value="{next}""#)));
    let code = current_code(&app, &html);
    let fields = [("code", code.as_str()), ("next", next)];
    let done = post(&app, &http, "/account/mfa/totp/confirm", &fields).await;
    let html = done.text().await.unwrap();
    assert!(
        html.contains(&format!(r#"<a href="{next}" id="continue">"#)),
        "{html}"
    );
}

async fn new_recovery_codes_replace_the_old_ones(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let http = signed_in(&app).await;
    let old = enrol(&app, &http).await;

    let wrong = post(
        &app,
        &http,
        "/account/mfa/recovery-codes",
        &[("password", "not-it")],
    )
    .await;
    assert_eq!(wrong.status(), 200);
    let html = wrong.text().await.unwrap();
    assert!(html.contains(r#"aria-describedby="regenerate_password-error""#));
    assert!(html.contains("Wrong password.") && !html.contains(r#"id="recovery-codes""#));

    let fields = [("password", PASSWORD_OF_USER)];
    let made = post(&app, &http, "/account/mfa/recovery-codes", &fields).await;
    assert_eq!(made.status(), 200);
    let new = recovery_codes(&made.text().await.unwrap());
    assert_eq!(new.len(), 10);
    assert!(new.iter().all(|code| !old.contains(code)));

    let (status, html) = sign_in_with_recovery_code(&app, &old[0]).await;
    assert_eq!(status, 200, "an old code no longer works");
    assert!(html.contains(r#"id="code-error""#));
    assert_eq!(
        sign_in_with_recovery_code(&app, &new[0]).await,
        (303, "/account".to_owned())
    );
    let html = page(&app, &http, "/account/mfa").await;
    assert_eq!(text_of(&html, "recovery-codes-left").as_deref(), Some("9"));
    page_listing(&app, &http, "New recovery codes made").await;
}

async fn the_app_is_removed_only_with_the_password(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let http = signed_in(&app).await;
    enrol(&app, &http).await;

    let wrong = post(
        &app,
        &http,
        "/account/mfa/totp/disable",
        &[("password", "not-it")],
    )
    .await;
    assert_eq!(wrong.status(), 200);
    let html = wrong.text().await.unwrap();
    assert!(html.contains(r#"aria-describedby="disable_password-error""#));
    assert_eq!(text_of(&html, "totp-status").as_deref(), Some("on"));

    let fields = [("password", PASSWORD_OF_USER)];
    let removed = post(&app, &http, "/account/mfa/totp/disable", &fields).await;
    assert_eq!(removed.status(), 303);
    let to = removed.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(to, "/account/mfa?done=totp-off#authenticator");
    let html = page(&app, &http, &to).await;
    assert!(html.contains(r#"id="done""#) && html.contains(r#"id="setup-totp""#));
    assert_eq!(text_of(&html, "totp-status").as_deref(), Some("off"));
    page_listing(
        &app,
        &http,
        "Two-step verification turned off (authenticator app)",
    )
    .await;
    let again = sign_in(&app, &http_client(), PASSWORD_OF_USER, "/account").await;
    assert_eq!(again, "/account", "no second step any more");
}

async fn set_email_verified(app: &TestApp, verified: bool) {
    let db = app.isolation.connect().await;
    users::Entity::update_many()
        .col_expr(
            users::Column::EmailVerified,
            sea_orm::sea_query::Expr::value(verified),
        )
        .filter(users::Column::Email.eq(USER_EMAIL))
        .exec(&db)
        .await
        .unwrap();
}

async fn codes_by_email_go_only_to_a_verified_address(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let http = signed_in(&app).await;
    set_email_verified(&app, false).await;
    let html = page(&app, &http, "/account/mfa").await;
    assert!(html.contains(r#"id="email-unverified""#));
    let refused = post(&app, &http, "/account/mfa/email", &[("enabled", "on")]).await;
    assert_eq!(refused.status(), 200);
    let html = refused.text().await.unwrap();
    assert!(html.contains(r#"id="email-codes-error""#));
    assert_eq!(text_of(&html, "email-codes-status").as_deref(), Some("off"));

    set_email_verified(&app, true).await;
    let on = post(&app, &http, "/account/mfa/email", &[("enabled", "on")]).await;
    assert_eq!(on.status(), 303);
    assert_eq!(
        on.headers()["location"],
        "/account/mfa?done=email-on#email-codes"
    );
    let html = page(&app, &http, "/account/mfa").await;
    assert_eq!(text_of(&html, "email-codes-status").as_deref(), Some("on"));

    let fields = [("enabled", "off"), ("password", "not-it")];
    let wrong = post(&app, &http, "/account/mfa/email", &fields).await;
    let html = wrong.text().await.unwrap();
    assert!(html.contains(r#"aria-describedby="email_password-error""#));
    let fields = [("enabled", "off"), ("password", PASSWORD_OF_USER)];
    let off = post(&app, &http, "/account/mfa/email", &fields).await;
    assert_eq!(
        off.headers()["location"],
        "/account/mfa?done=email-off#email-codes"
    );
    let html = page_listing(
        &app,
        &http,
        "Two-step verification turned off (codes by email)",
    )
    .await;
    assert!(html.contains("Two-step verification turned on (codes by email)"));
    assert_eq!(text_of(&html, "two-step-email").as_deref(), Some("off"));
}

/// The claims of a JWT (its signature is the token tests' business).
fn claims(jwt: &str) -> serde_json::Value {
    let part = jwt.split('.').nth(1).unwrap();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&raw).unwrap()
}

/// Follows redirects from `url` to the first that leaves for `prefix`; that location.
async fn redirected_to(app: &TestApp, http: &reqwest::Client, url: &str, prefix: &str) -> String {
    let mut url = url.to_owned();
    for _ in 0..8 {
        let response = http.get(&url).send().await.unwrap();
        assert!(
            response.status().is_redirection(),
            "{url}: {}",
            response.status()
        );
        let to = response.headers()["location"].to_str().unwrap().to_owned();
        if to.starts_with(prefix) {
            return to;
        }
        url = app.url(&to);
    }
    panic!("never sent to {prefix}");
}

async fn a_request_that_needs_two_steps_goes_on_once_one_is_set_up(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let http = signed_in(&app).await;
    let (verifier, challenge) = pkce_pair();
    let mut params = standard_params(WEB, &challenge, "openid");
    params.push(("acr_values", "urn:gatehouse:acr:mfa"));
    let start = authorize_url(&app, &params);

    let enrol_at = redirected_to(&app, &http, &start, "/account/mfa?next=").await;
    let html = page(&app, &http, &enrol_at).await;
    assert!(html.contains(r#"id="mfa-required""#));
    let next = hidden_field(&html, "next").unwrap();
    assert!(next.starts_with("/authorize/resume?request="), "{next}");
    post(&app, &http, "/account/mfa/totp", &[("next", &next)]).await;
    let html = page(&app, &http, &enrol_at).await;
    let code = current_code(&app, &html);
    let fields = [("code", code.as_str()), ("next", next.as_str())];
    let done = post(&app, &http, "/account/mfa/totp/confirm", &fields).await;
    assert!(
        done.text()
            .await
            .unwrap()
            .contains(&format!(r#"<a href="{next}" id="continue">"#))
    );

    let back = drive(
        &app,
        &http,
        &app.url(&next),
        USER_EMAIL,
        PASSWORD_OF_USER,
        Choice::Allow,
    )
    .await;
    assert!(back.starts_with(REDIRECT), "{back}");
    let code = query(&back)["code"].clone();
    let tokens: serde_json::Value = exchange_code(&app, WEB, &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let id_token = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id_token["acr"], "urn:gatehouse:acr:mfa", "{id_token}");
}
