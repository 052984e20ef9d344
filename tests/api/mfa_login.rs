//! Signing in with a second factor over HTTP, as a browser and a relying party see it: the
//! code page after the password (TOTP, recovery codes, mailed codes), replay refused at the
//! other instance, too many wrong codes, and what `acr_values`, a client's `require_mfa` and
//! `prompt=login` ask of it, with the ID token's `acr` and `amr`.

use std::sync::Arc;
use std::time::Duration;

use gatehouse::clock::Clock;
use gatehouse::keys::KeyRing;
use gatehouse::mfa::Factors;
use gatehouse::mfa::totp::TotpSecret;
use gatehouse::oauth::acr;
use serde_json::Value;

use crate::backend_tests;
use crate::flow::{
    PASSWORD_OF_USER, SPA, USER_EMAIL, authorize_url, exchange_code, hidden_field, pkce_pair,
    query, standard_params,
};
use crate::helpers::{Backend, TestApp, http_client};
use crate::mail::next_mail_to;

backend_tests!(
    totp_after_the_password_signs_in_and_says_so_in_the_id_token,
    a_code_is_accepted_once_even_at_the_other_instance,
    a_recovery_code_signs_in_once_and_regeneration_replaces_the_set,
    a_mailed_code_signs_in_when_the_user_turned_email_codes_on,
    too_many_wrong_codes_start_the_sign_in_again,
    the_mfa_level_alone_makes_a_user_without_a_factor_enrol_first,
    a_password_level_listed_first_is_met_by_the_password_alone,
    prompt_login_asks_the_second_factor_again,
    a_client_that_requires_mfa_steps_a_password_session_up,
);

/// The factors capability on `app`'s database and store, with its keys.
async fn factors(app: &TestApp) -> Factors {
    let db = app.isolation.connect().await;
    let now = app.isolation.clock.now();
    let keys = KeyRing::load_or_create(&db, &app.settings, now)
        .await
        .unwrap();
    crate::mfa::instance(&app.isolation, Arc::new(keys)).await
}

async fn user_id(app: &TestApp, email: &str) -> String {
    let db = app.isolation.connect().await;
    let email = gatehouse::accounts::Email::parse(email).unwrap();
    let user = gatehouse::accounts::store::find_by_email(&db, &email).await;
    user.unwrap().expect("a demo user").id
}

/// Enrols TOTP for the demo user; the enrolment's code is used up, so the clock moves on to
/// the next step. Returns the secret and the recovery codes.
pub async fn enrol_totp(app: &TestApp) -> (TotpSecret, Vec<String>) {
    let factors = factors(app).await;
    let user = user_id(app, USER_EMAIL).await;
    let secret = factors.begin_totp(&user).await.unwrap().unwrap();
    let code = secret.code_at(now_secs(app));
    let codes = factors.confirm_totp(&user, &code).await.unwrap().unwrap();
    app.advance_clock(Duration::from_secs(30));
    (secret, codes)
}

fn now_secs(app: &TestApp) -> u64 {
    app.isolation.clock.now().secs() as u64
}

/// A browser's way through the pages: what it types where.
struct Person<'a> {
    password: &'a str,
    /// Typed on the code page, one per visit; none left means the test expected no page.
    codes: Vec<String>,
}

/// Where a browser ended, and what it saw last.
struct Arrival {
    url: String,
    /// The last page shown (a code page that refused, say), when the flow stopped on one.
    html: String,
}

/// Follows an authorization from `start` until it leaves the server (or stops on a page
/// the person has nothing left to type into), filling in the password, code and consent.
async fn walk(app: &TestApp, http: &reqwest::Client, start: &str, who: &mut Person<'_>) -> Arrival {
    let mut url = start.to_owned();
    for _ in 0..16 {
        if !url.starts_with(&app.address) {
            return Arrival {
                url,
                html: String::new(),
            };
        }
        let response = http.get(&url).send().await.unwrap();
        if response.status().is_redirection() {
            url = location(app, &response);
            continue;
        }
        assert_eq!(response.status(), 200, "at {url}");
        let mut html = response.text().await.unwrap();
        loop {
            match fill_in(app, http, &html, who).await {
                Filled::Next(next) => break url = next,
                Filled::Refused(again) if !who.codes.is_empty() => html = again,
                Filled::Refused(again) => return Arrival { url, html: again },
                Filled::Nothing => return Arrival { url, html },
            }
        }
    }
    panic!("the flow did not finish");
}

/// What submitting a page's form did.
enum Filled {
    /// It led on (a redirect).
    Next(String),
    /// Nothing (left) to type into it.
    Nothing,
    /// The form came back, refused: the page it came back as.
    Refused(String),
}

/// Submits the page's form.
async fn fill_in(
    app: &TestApp,
    http: &reqwest::Client,
    html: &str,
    who: &mut Person<'_>,
) -> Filled {
    let Some(csrf) = hidden_field(html, "csrf") else {
        return Filled::Nothing;
    };
    let response = if let Some(challenge) = hidden_field(html, "challenge") {
        if who.codes.is_empty() || !html.contains(r#"name="code""#) {
            return Filled::Nothing;
        }
        let code = who.codes.remove(0);
        let form = [
            ("challenge", challenge.as_str()),
            ("csrf", &csrf),
            ("code", &code),
        ];
        http.post(app.url("/login/code"))
            .form(&form)
            .send()
            .await
            .unwrap()
    } else {
        let Some(request) = hidden_field(html, "request") else {
            return Filled::Nothing;
        };
        let (path, form) = if html.contains(r#"name="password""#) {
            let fields = vec![("email", USER_EMAIL), ("password", who.password)];
            ("/login", fields)
        } else {
            ("/consent", vec![("decision", "allow")])
        };
        let mut form = form;
        form.extend([("request", request.as_str()), ("csrf", csrf.as_str())]);
        http.post(app.url(path)).form(&form).send().await.unwrap()
    };
    if !response.status().is_redirection() {
        return Filled::Refused(response.text().await.unwrap());
    }
    Filled::Next(location(app, &response))
}

fn location(app: &TestApp, response: &reqwest::Response) -> String {
    let raw = response.headers()["location"].to_str().unwrap();
    if raw.starts_with('/') {
        app.url(raw)
    } else {
        raw.to_owned()
    }
}

/// An authorization URL for the demo SPA with extra parameters, and its PKCE verifier.
fn authorize(app: &TestApp, extra: &[(&str, &str)]) -> (String, String) {
    authorize_for(app, SPA, extra)
}

fn authorize_for(app: &TestApp, client: &str, extra: &[(&str, &str)]) -> (String, String) {
    let (verifier, challenge) = pkce_pair();
    let mut params = standard_params(client, &challenge, "openid");
    params.extend_from_slice(extra);
    (authorize_url(app, &params), verifier)
}

/// The claims of the ID token the code at `back` is exchanged for.
async fn id_claims(app: &TestApp, back: &str, verifier: &str) -> Value {
    id_claims_for(app, SPA, back, verifier).await
}

async fn id_claims_for(app: &TestApp, client: &str, back: &str, verifier: &str) -> Value {
    use base64::Engine;
    let code = query(back)
        .get("code")
        .cloned()
        .unwrap_or_else(|| panic!("no code: {back}"));
    let tokens: Value = exchange_code(app, client, &code, verifier)
        .await
        .json()
        .await
        .unwrap();
    let id_token = tokens["id_token"].as_str().expect("an id_token");
    let payload = id_token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn amr(claims: &Value) -> Vec<&str> {
    claims["amr"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect()
}

fn person(codes: &[&str]) -> Person<'static> {
    Person {
        password: PASSWORD_OF_USER,
        codes: codes.iter().map(|c| (*c).to_owned()).collect(),
    }
}

async fn totp_after_the_password_signs_in_and_says_so_in_the_id_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (secret, _) = enrol_totp(&app).await;
    let (url, verifier) = authorize(&app, &[]);
    let http = http_client();

    let stopped = walk(&app, &http, &url, &mut person(&["000000x"])).await;
    assert!(
        stopped.url.contains("/login/code?challenge="),
        "{}",
        stopped.url
    );
    assert!(
        stopped.html.contains(r#"autocomplete="one-time-code""#),
        "{}",
        stopped.html
    );
    assert!(stopped.html.contains(r#"inputmode="numeric""#));
    assert!(stopped.html.contains("Use a recovery code"));
    assert!(
        stopped.html.contains(r#"id="code-error""#),
        "a wrong code is refused"
    );
    let code = secret.code_at(now_secs(&app));
    let back = walk(&app, &http, &stopped.url, &mut person(&[&code])).await;

    let claims = id_claims(&app, &back.url, &verifier).await;
    assert_eq!(amr(&claims), ["pwd", "otp", "mfa"]);
    assert_eq!(claims["acr"], acr::MFA);
    let activity = activity(&app, &http, "Signed in (password and authenticator app)").await;
    assert!(
        activity.contains("Wrong two-step verification code"),
        "{activity}"
    );
}

/// The account page once its activity list shows `line` (events are written in batches).
async fn activity(app: &TestApp, http: &reqwest::Client, line: &str) -> String {
    for _ in 0..100 {
        let page = http
            .get(app.url("/account"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if page.contains(line) {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {line:?} in the account's activity");
}

async fn a_code_is_accepted_once_even_at_the_other_instance(backend: Backend) {
    let first = TestApp::spawn(backend).await;
    let second = TestApp::spawn_on(first.isolation.clone(), |_| {}).await;
    let (secret, _) = enrol_totp(&first).await;
    let code = secret.code_at(now_secs(&first));
    let (url, _) = authorize(&first, &[]);
    let back = walk(&first, &http_client(), &url, &mut person(&[&code])).await;
    assert!(
        back.url.contains("code="),
        "signed in at the first: {}",
        back.url
    );

    let (url, _) = authorize(&second, &[]);
    let replayed = walk(&second, &http_client(), &url, &mut person(&[&code])).await;

    assert!(replayed.url.contains("/login/code"), "{}", replayed.url);
    assert!(
        replayed.html.contains(r#"id="code-error""#),
        "{}",
        replayed.html
    );
}

async fn a_recovery_code_signs_in_once_and_regeneration_replaces_the_set(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, codes) = enrol_totp(&app).await;
    let sign_in = |code: String| {
        let app = &app;
        async move {
            let (url, _) = authorize(app, &[]);
            walk(app, &http_client(), &url, &mut person(&[&code])).await
        }
    };

    let back = sign_in(codes[0].clone()).await;
    assert!(back.url.contains("code="), "{}", back.url);
    let again = sign_in(codes[0].clone()).await;
    assert!(
        again.html.contains(r#"id="code-error""#),
        "a recovery code works once"
    );
    let fresh = factors(&app)
        .await
        .regenerate_codes(&user_id(&app, USER_EMAIL).await)
        .await
        .unwrap();
    let old = sign_in(codes[1].clone()).await;
    assert!(
        old.html.contains(r#"id="code-error""#),
        "the old set is gone"
    );
    let new = sign_in(fresh[0].to_uppercase()).await;
    assert!(new.url.contains("code="), "{}", new.url);
}

async fn a_mailed_code_signs_in_when_the_user_turned_email_codes_on(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = user_id(&app, USER_EMAIL).await;
    assert!(
        factors(&app)
            .await
            .set_email_codes(&user, true)
            .await
            .unwrap()
    );
    let (url, verifier) = authorize(&app, &[]);
    let http = http_client();

    let waiting = walk(&app, &http, &url, &mut person(&[])).await;
    assert!(
        waiting.html.contains("We sent a code to"),
        "{}",
        waiting.html
    );
    assert!(
        waiting.html.contains("u•••@example.com"),
        "{}",
        waiting.html
    );
    let mail = next_mail_to(&app, USER_EMAIL).await;
    let code = six_digits(&mail.text).expect("a code in the mail");
    let back = walk(&app, &http, &waiting.url, &mut person(&[&code])).await;

    let claims = id_claims(&app, &back.url, &verifier).await;
    assert_eq!(amr(&claims), ["pwd", "otp", "mfa"]);
    let (url, _) = authorize(&app, &[]);
    let again = walk(&app, &http_client(), &url, &mut person(&[&code])).await;
    assert!(
        again.html.contains(r#"id="code-error""#),
        "the mailed code worked once"
    );
}

/// The first word of exactly six digits.
fn six_digits(text: &str) -> Option<String> {
    text.split_whitespace()
        .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_owned)
}

async fn too_many_wrong_codes_start_the_sign_in_again(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (secret, _) = enrol_totp(&app).await;
    let attempts = app.settings.mfa.attempts as usize;
    let (url, _) = authorize(&app, &[]);
    let http = http_client();
    let wrong: Vec<String> = (0..attempts).map(|n| format!("99999{n}")).collect();
    let mut who = person(&[]);
    who.codes = wrong;

    let stopped = walk(&app, &http, &url, &mut who).await;
    let over = http.get(&stopped.url).send().await.unwrap();

    assert!(
        stopped.html.contains("Too many wrong codes"),
        "{}",
        stopped.html
    );
    assert!(
        stopped.html.contains(r#"href="/login?request="#),
        "{}",
        stopped.html
    );
    assert_eq!(over.status(), 400, "the challenge is over");
    let (url, _) = authorize(&app, &[]);
    let locked = walk(&app, &http, &url, &mut person(&[])).await;
    assert!(
        locked.html.contains("Wrong email or password"),
        "wrong codes lock the account"
    );
    app.advance_clock(Duration::from_secs(app.settings.lockout.delay_secs + 1));
    let (url, _) = authorize(&app, &[]);
    let code = secret.code_at(now_secs(&app));
    let back = walk(&app, &http, &url, &mut person(&[&code])).await;
    assert!(
        back.url.contains("code="),
        "a new sign-in works: {}",
        back.url
    );
}

async fn the_mfa_level_alone_makes_a_user_without_a_factor_enrol_first(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (url, verifier) = authorize(&app, &[("acr_values", acr::MFA)]);
    let http = http_client();

    let enrol = walk(&app, &http, &url, &mut person(&[])).await;
    assert!(enrol.url.contains("/account/mfa?next="), "{}", enrol.url);
    let next = enrol_on_the_page(&app, &http, &enrol).await;
    let back = walk(&app, &http, &next, &mut person(&[])).await;

    let claims = id_claims(&app, &back.url, &verifier).await;
    assert_eq!(claims["acr"], acr::MFA);
    assert_eq!(amr(&claims), ["pwd", "otp", "mfa"]);
}

/// Sets up TOTP on the enrolment page the browser was sent to (starting it when needed) and
/// returns where its "Continue" link leads.
async fn enrol_on_the_page(app: &TestApp, http: &reqwest::Client, at: &Arrival) -> String {
    let mut html = at.html.clone();
    if !html.contains("totp-secret") {
        let csrf = hidden_field(&html, "csrf").unwrap();
        let next = hidden_field(&html, "next").unwrap_or_default();
        let form = [("csrf", csrf.as_str()), ("next", next.as_str())];
        let started = http
            .post(app.url("/account/mfa/totp"))
            .form(&form)
            .send()
            .await;
        let started = location(app, &started.unwrap());
        html = http
            .get(&started)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
    }
    let secret = shown_secret(&html);
    let csrf = hidden_field(&html, "csrf").unwrap();
    let next = hidden_field(&html, "next").unwrap_or_default();
    let code = secret.code_at(now_secs(app));
    let form = [
        ("csrf", csrf.as_str()),
        ("next", next.as_str()),
        ("code", code.as_str()),
    ];
    let confirm = http
        .post(app.url("/account/mfa/totp/confirm"))
        .form(&form)
        .send()
        .await;
    let codes_page = confirm.unwrap().text().await.unwrap();
    assert_eq!(codes_page.matches("<li><code>").count(), 10, "{codes_page}");
    let continue_at = codes_page.split(r#"id="continue""#).next().unwrap();
    let href = continue_at
        .rsplit("href=\"")
        .next()
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    app.url(&href.replace("&amp;", "&"))
}

/// The secret the enrolment page shows as text (`id="totp-secret"`).
fn shown_secret(html: &str) -> TotpSecret {
    let at = html
        .find(r#"id="totp-secret""#)
        .expect("the secret as text");
    let text = &html[at..];
    let text = &text[text.find('>').unwrap() + 1..];
    let text = &text[..text.find('<').unwrap()];
    TotpSecret::from_base32(text).expect("a base32 secret")
}

async fn a_password_level_listed_first_is_met_by_the_password_alone(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let both = format!("{} {}", acr::PASSWORD, acr::MFA);
    let (url, verifier) = authorize(&app, &[("acr_values", &both)]);

    let back = walk(&app, &http_client(), &url, &mut person(&[])).await;

    let claims = id_claims(&app, &back.url, &verifier).await;
    assert_eq!(claims["acr"], acr::PASSWORD);
    assert_eq!(amr(&claims), ["pwd"]);
}

async fn prompt_login_asks_the_second_factor_again(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (secret, _) = enrol_totp(&app).await;
    let http = http_client();
    let (url, _) = authorize(&app, &[]);
    let code = secret.code_at(now_secs(&app));
    walk(&app, &http, &url, &mut person(&[&code])).await;
    app.advance_clock(Duration::from_secs(30));
    let (quiet, _) = authorize(&app, &[]);
    let silent = walk(&app, &http, &quiet, &mut person(&[])).await;
    assert!(
        silent.url.contains("code="),
        "the session is enough: {}",
        silent.url
    );

    let (url, verifier) = authorize(&app, &[("prompt", "login")]);
    let asked = walk(&app, &http, &url, &mut person(&[])).await;
    assert!(asked.url.contains("/login/code"), "{}", asked.url);
    let code = secret.code_at(now_secs(&app));
    let back = walk(&app, &http, &asked.url, &mut person(&[&code])).await;

    let claims = id_claims(&app, &back.url, &verifier).await;
    assert_eq!(claims["acr"], acr::MFA);
}

async fn a_client_that_requires_mfa_steps_a_password_session_up(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let strict = gatehouse::clients::Client {
        id: "strict-spa".into(),
        name: "Strict App".into(),
        require_mfa: true,
        ..gatehouse::demo::spa_client()
    };
    app.with_client(&strict).await;
    let http = http_client();
    let (url, _) = authorize(&app, &[]);
    walk(&app, &http, &url, &mut person(&[])).await;
    let (secret, _) = enrol_totp(&app).await;

    let (url, verifier) = authorize_for(&app, "strict-spa", &[]);
    let asked = walk(&app, &http, &url, &mut person(&[])).await;
    assert!(
        asked.url.contains("/login/code"),
        "only the code: {}",
        asked.url
    );
    let code = secret.code_at(now_secs(&app));
    let back = walk(&app, &http, &asked.url, &mut person(&[&code])).await;

    let claims = id_claims_for(&app, "strict-spa", &back.url, &verifier).await;
    assert_eq!(claims["acr"], acr::MFA);
    assert_eq!(amr(&claims), ["pwd", "otp", "mfa"]);
}
