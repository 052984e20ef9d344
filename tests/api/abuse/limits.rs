//! Lockout, per-address limits shared by instances, and the bounded hash queue.

use std::time::Duration;

use super::*;
use crate::backend_tests;
use crate::helpers::{Backend, TestApp};

backend_tests!(
    twenty_wrong_passwords_lock_the_account_but_not_its_sessions,
    an_address_trying_many_accounts_is_throttled_while_another_signs_in,
    a_full_hash_queue_answers_503_at_once,
);

async fn twenty_wrong_passwords_lock_the_account_but_not_its_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = browser(None);
    assert!(
        sign_in(&app, &owner, USER_EMAIL, PASSWORD_OF_USER)
            .await
            .signed_in()
    );
    let attacker = browser(None);

    for n in 0..20 {
        let answer = sign_in(&app, &attacker, USER_EMAIL, &format!("guess-{n}")).await;
        assert!(answer.is_wrong_password(), "guess {n}: the ordinary answer");
    }
    let during = sign_in(&app, &attacker, USER_EMAIL, PASSWORD_OF_USER).await;
    let wrong = sign_in(&app, &attacker, USER_EMAIL, "one more guess").await;

    assert!(
        during.is_wrong_password(),
        "the right password is refused while locked"
    );
    assert_eq!(
        (during.status, during.retry_after.as_deref()),
        (wrong.status, wrong.retry_after.as_deref()),
        "locked and wrong look the same"
    );
    let account = app.get("/account/sessions").await;
    let signed_in_elsewhere = owner
        .get(app.url("/account/sessions"))
        .send()
        .await
        .unwrap();
    assert_eq!(account.status(), 303, "a stranger is asked to sign in");
    assert_eq!(
        signed_in_elsewhere.status(),
        200,
        "the owner's session goes on"
    );
    let known_device = account_sign_in(&app, &owner, USER_EMAIL, PASSWORD_OF_USER).await;
    assert!(
        known_device.signed_in(),
        "a browser the owner signed in from before is not locked out"
    );
    let forged = with_device_cookie(&app, "AAAA.BBBB");
    let guess = account_sign_in(&app, &forged, USER_EMAIL, PASSWORD_OF_USER).await;
    assert!(
        guess.body.contains("Wrong email or password."),
        "a forged device token counts for nothing"
    );

    // The first lock lasts delay_secs (60 s by default).
    app.advance_clock(Duration::from_secs(61));
    let after = sign_in(&app, &attacker, USER_EMAIL, PASSWORD_OF_USER).await;
    assert!(
        after.signed_in(),
        "the right password works once the delay is over"
    );
}

async fn an_address_trying_many_accounts_is_throttled_while_another_signs_in(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.server.trusted_proxies = vec!["127.0.0.1/32".into()];
    })
    .await;
    let attacker = browser(Some("203.0.113.7"));
    let mut refused = None;
    for n in 0..40 {
        let email = format!("victim-{n}@example.com");
        let answer = sign_in(&app, &attacker, &email, "password1").await;
        if answer.status == 429 {
            refused = Some((n, answer));
            break;
        }
        assert!(answer.is_wrong_password(), "attempt {n}");
    }

    let (n, answer) = refused.expect("the attacker is throttled");
    assert_eq!(n, 30, "after limits.login_failures_per_ip (30) failures");
    let wait: u64 = answer.retry_after.unwrap().parse().unwrap();
    assert!((1..=600).contains(&wait), "Retry-After {wait}");
    assert!(
        answer.body.contains("Too many attempts"),
        "a page for people"
    );
    let honest = browser(Some("198.51.100.20"));
    assert!(
        sign_in(&app, &honest, USER_EMAIL, PASSWORD_OF_USER)
            .await
            .signed_in(),
        "another address signs in normally"
    );
}

async fn a_full_hash_queue_answers_503_at_once(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.passwords.max_concurrent = 1;
        s.passwords.max_queued = 1;
    })
    .await;
    let mut prepared = Vec::new();
    for _ in 0..8 {
        let b = browser(None);
        let form = login_form(&app, &b).await;
        prepared.push((b, form));
    }

    let posts = prepared
        .iter()
        .map(|(b, form)| submit(&app, b, form, USER_EMAIL, "wrong"));
    let answers = futures_util::future::join_all(posts).await;

    let busy: Vec<_> = answers.iter().filter(|a| a.status == 503).collect();
    assert!(
        !busy.is_empty(),
        "some were refused: {:?}",
        statuses(&answers)
    );
    assert!(busy.iter().all(|a| a.retry_after.as_deref() == Some("1")));
    assert!(busy[0].body.contains("try again in a moment"));
    assert!(
        answers
            .iter()
            .all(|a| a.status == 503 || a.is_wrong_password()),
        "the rest were answered: {:?}",
        statuses(&answers)
    );
}

fn statuses(answers: &[Answer]) -> Vec<u16> {
    answers.iter().map(|a| a.status).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_limits_over_redis() {
    let first = TestApp::spawn_with(Backend::Postgres, |s| {
        s.limits.login_failures_per_ip.limit = 6;
    })
    .await;
    let second = TestApp::spawn_on(first.isolation.clone(), |s| {
        s.limits.login_failures_per_ip.limit = 6;
    })
    .await;

    for n in 0..3 {
        for app in [&first, &second] {
            let email = format!("someone-{n}-{}@example.com", app.port);
            let answer = sign_in(app, &browser(None), &email, "nope").await;
            assert!(answer.is_wrong_password());
        }
    }

    for app in [&second, &first] {
        let answer = sign_in(app, &browser(None), USER_EMAIL, PASSWORD_OF_USER).await;
        assert_eq!(
            answer.status, 429,
            "six failures over two instances are six"
        );
    }
}

/// Signs in on the account pages (`/account/login`), as a returning user does.
async fn account_sign_in(
    app: &TestApp,
    browser: &reqwest::Client,
    email: &str,
    password: &str,
) -> Answer {
    let page = browser.get(app.url("/account/login")).send().await.unwrap();
    let csrf = hidden_field(&page.text().await.unwrap(), "csrf").unwrap();
    let form = [
        ("csrf", csrf.as_str()),
        ("email", email),
        ("password", password),
    ];
    let answer = browser
        .post(app.url("/account/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    Answer {
        status: answer.status().as_u16(),
        retry_after: None,
        body: answer.text().await.unwrap(),
    }
}

/// A browser holding a device-token cookie of its own making.
fn with_device_cookie(app: &TestApp, value: &str) -> reqwest::Client {
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let cookie = format!("gatehouse_session_device={value}; Path=/");
    jar.add_cookie_str(&cookie, &app.url("/").parse().unwrap());
    reqwest::Client::builder()
        .cookie_provider(jar)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}
