//! Registration and email verification, over HTTP as a browser and a relying party see it.

use super::*;
use crate::backend_tests;
use crate::flow::*;
use crate::helpers::{Backend, TestApp, http_client};

backend_tests!(
    register_verify_then_sign_in_through_the_code_flow,
    an_existing_email_gets_the_same_page_and_its_owner_a_mail,
    a_client_requiring_a_verified_email_waits_for_it,
);

fn claims(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let part = jwt.split('.').nth(1).unwrap();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&raw).unwrap()
}

/// Where a 303 goes, as a local path.
fn see_other(response: &reqwest::Response) -> String {
    assert_eq!(response.status(), 303, "a redirect");
    response.headers()["location"].to_str().unwrap().to_owned()
}

async fn register_verify_then_sign_in_through_the_code_flow(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let http = http_client();
    let (verifier, challenge) = pkce_pair();
    let start = authorize_url(
        &app,
        &standard_params(SPA, &challenge, "openid email profile"),
    );
    let to_login = http.get(&start).send().await.unwrap();
    let login = app.url(&see_other(&to_login));
    let login_html = http.get(&login).send().await.unwrap().text().await.unwrap();
    let request = hidden_field(&login_html, "request").unwrap();
    let register_href = format!("/register?request={request}");
    assert!(
        login_html.contains(&register_href),
        "the sign-in page links to registration"
    );

    let page = http.get(app.url(&register_href)).send().await.unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("Demo SPA"), "the page names the client");
    let fields = [
        ("email", "New.Person@Example.com"),
        ("name", "Nova Person"),
        ("password", STRONG),
    ];
    let answered = submit(&app, &http, &html, "/register", &fields).await;
    assert_eq!(answered.status(), 200);
    assert!(answered.text().await.unwrap().contains("Check your mail"));

    let mail = wait_for_mail(&app, "new.person@example.com", "Confirm your email", 1).await;
    assert!(mail.text.contains("Nova Person"));
    assert!(
        mail.html.contains(&mail.link().replace('&', "&amp;")) || mail.html.contains(&mail.link())
    );
    let confirmed = confirm_email(&app, &http, &mail.link()).await;
    let resume = see_other(&confirmed);
    assert_eq!(
        resume,
        format!("/authorize/resume?request={request}"),
        "back to the request"
    );

    let back = drive(
        &app,
        &http,
        &app.url(&resume),
        "new.person@example.com",
        STRONG,
        Choice::Allow,
    )
    .await;
    let code = query(&back)["code"].clone();
    let tokens: serde_json::Value = exchange_code(&app, SPA, &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let id_token = claims(tokens["id_token"].as_str().unwrap());
    assert!(id_token["sub"].is_string());
    let access = tokens["access_token"].as_str().unwrap();
    let info: serde_json::Value = app
        .http
        .get(app.url("/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["email"], "new.person@example.com");
    assert_eq!(info["email_verified"], true);
    assert_eq!(info["name"], "Nova Person");

    let again = http.get(mail.link()).send().await.unwrap();
    assert_eq!(again.status(), 400, "a verification link works once");
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("This link has expired")
    );
}

/// The page's text without the values that differ per request.
fn normalised(html: &str) -> String {
    html.lines()
        .filter(|l| !l.contains("name=\"csrf\""))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn an_existing_email_gets_the_same_page_and_its_owner_a_mail(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status_new, new) =
        register(&app, &http_client(), "fresh@example.com", "Fresh", STRONG).await;
    let (status_taken, taken) =
        register(&app, &http_client(), "fresh@example.com", "Someone", STRONG).await;
    assert_eq!((status_new, status_taken), (200, 200));
    assert_eq!(
        normalised(&new),
        normalised(&taken),
        "the same page either way"
    );
    let (_, demo) = register(&app, &http_client(), USER_EMAIL, "Intruder", STRONG).await;
    assert_eq!(
        normalised(&demo).replace(USER_EMAIL, "fresh@example.com"),
        normalised(&new)
    );

    let warning = wait_for_mail(&app, USER_EMAIL, "Someone tried to register", 1).await;
    assert!(
        warning.link().ends_with("/password/forgot"),
        "{}",
        warning.link()
    );
    wait_for_mail(&app, "fresh@example.com", "Someone tried to register", 1).await;
    assert_eq!(
        mails_to(&app, "fresh@example.com")
            .iter()
            .filter(|m| m.subject.contains("Confirm"))
            .count(),
        1
    );
    // The demo user's password is what it was.
    let (code, _) = obtain_code(&app, SPA, "openid").await;
    assert!(!code.is_empty());
}

async fn a_client_requiring_a_verified_email_waits_for_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let strict = gatehouse::clients::Client {
        require_verified_email: true,
        require_consent: false,
        ..gatehouse::demo::spa_client()
    };
    let strict = gatehouse::clients::Client {
        id: "strict-spa".into(),
        name: "Strict App".into(),
        ..strict
    };
    app.with_client(&strict).await;
    let http = http_client();
    register(&app, &http, "late@example.com", "Late Verifier", STRONG).await;

    let (verifier, challenge) = pkce_pair();
    let start = authorize_url(
        &app,
        &standard_params("strict-spa", &challenge, "openid email"),
    );
    let login = app.url(&see_other(&http.get(&start).send().await.unwrap()));
    let html = http.get(&login).send().await.unwrap().text().await.unwrap();
    let signed_in = submit(
        &app,
        &http,
        &html,
        "/login",
        &[("email", "late@example.com"), ("password", STRONG)],
    )
    .await;
    let resume = see_other(&signed_in);
    let paused = see_other(&http.get(app.url(&resume)).send().await.unwrap());
    assert!(paused.starts_with("/email/pending?request="), "{paused}");
    let page = http
        .get(app.url(&paused))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Strict App") && page.contains("late@example.com"));

    let mut silent = standard_params("strict-spa", &challenge, "openid");
    silent.push(("prompt", "none"));
    let answer = see_location(&http.get(authorize_url(&app, &silent)).send().await.unwrap());
    assert_eq!(query(&answer)["error"], "interaction_required");

    let resent = submit(&app, &http, &page, "/account/email/resend", &[]).await;
    assert!(see_other(&resent).contains("sent=1"));
    let mail = wait_for_mail(&app, "late@example.com", "Confirm your email", 2).await;
    let confirmed = confirm_email(&app, &http, &mail.link()).await;
    let back = drive(
        &app,
        &http,
        &app.url(&see_other(&confirmed)),
        "late@example.com",
        STRONG,
        Choice::Allow,
    )
    .await;
    let code = query(&back)["code"].clone();
    assert_eq!(
        exchange_code(&app, "strict-spa", &code, &verifier)
            .await
            .status(),
        200
    );
}

fn see_location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn bad_fields_are_shown_next_to_each_field() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (status, html) = register(&app, &http_client(), "not-an-email", "", "password1").await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"id="email-error""#) && html.contains("valid email address"));
    assert!(html.contains(r#"id="name-error""#) && html.contains("Enter your name"));
    assert!(html.contains(r#"id="password-error""#) && html.contains("too easy to guess"));
    assert!(
        html.contains(r#"value="not-an-email""#),
        "what was typed stays"
    );
    let (_, short) = register(&app, &http_client(), "a@example.com", "A", "short").await;
    assert!(short.contains("at least 8"));
    let (_, own) = register(
        &app,
        &http_client(),
        "quillon.vexmarrow@example.com",
        "Quillon Vexmarrow",
        "quillonvexmarrow",
    )
    .await;
    assert!(
        own.contains(r#"id="password-error""#),
        "the person's own name is guessable"
    );
}

#[tokio::test]
async fn registration_can_be_turned_off() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.signup.enabled = false).await;
    assert_eq!(app.get("/register").await.status(), 404);
    let html = app.get("/account").await.text().await.unwrap();
    assert!(!html.contains("/register"), "no link to it");
    assert!(html.contains("/password/forgot"));
}

#[tokio::test]
async fn resends_are_limited_per_address_and_per_client_address() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.limits.mail_per_address.limit = 3;
        s.limits.recovery_per_ip.limit = 4;
    })
    .await;
    let http = http_client();
    let (_, check_mail) = register(&app, &http, "many@example.com", "Many Mails", STRONG).await;
    let mut answers = Vec::new();
    for _ in 0..5 {
        let fields = [("email", "many@example.com")];
        let answer = submit(&app, &http, &check_mail, "/email/pending", &fields).await;
        answers.push(answer.status().as_u16());
    }
    assert_eq!(answers, [200, 200, 200, 200, 429], "per client address");
    wait_for_mail(&app, "many@example.com", "Confirm your email", 3).await;
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    let confirmations = mails_to(&app, "many@example.com");
    assert_eq!(
        confirmations.len(),
        3,
        "at most three mails to one address an hour"
    );
}

/// Mail-queueing transactions (here: verification resends, done in the background) hold
/// the database across awaits while the same worker thread serves requests that write the
/// embedded store: neither may wait for the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_mail_and_sign_in_pages_share_one_worker_without_stalling() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.server.workers = 1;
        s.limits.mail_per_address.limit = 1000;
        s.limits.recovery_per_ip.limit = 1000;
    })
    .await;
    let http = http_client();
    let (_, check_mail) = register(&app, &http, "crowd@example.com", "Crowd", STRONG).await;
    let resends = (0..20).map(|_| {
        let (app, http, page) = (&app, &http, &check_mail);
        async move {
            let fields = [("email", "crowd@example.com")];
            let answer = submit(app, http, page, "/email/pending", &fields).await;
            answer.status().as_u16()
        }
    });
    let pages = (0..20).map(|_| {
        let app = &app;
        async move {
            let (_, challenge) = pkce_pair();
            let url = authorize_url(app, &standard_params(SPA, &challenge, "openid"));
            http_client()
                .get(url)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let (resent, opened) = tokio::join!(
        futures_util::future::join_all(resends),
        futures_util::future::join_all(pages)
    );
    assert!(resent.iter().all(|s| *s == 200), "{resent:?}");
    assert!(opened.iter().all(|s| *s == 303), "{opened:?}");
    wait_for_mail(&app, "crowd@example.com", "Confirm your email", 21).await;
}
