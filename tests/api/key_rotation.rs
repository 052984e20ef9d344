//! Signing keys that rotate without breaking a token in flight, on both backends and two
//! instances: a key rotated in from the CLI is published by both before either signs with
//! it, signs after the publish delay (test clock), and its predecessor stays in the JWKS
//! until its tokens have expired, then leaves; a scheduled rotation happens by itself;
//! revoking a key takes it out at once and its tokens fail introspection.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use crate::backend_tests;
use crate::cli::{gatehouse, json_of};
use crate::flow::{WEB, WEB_SECRET};
use crate::helpers::{Backend, TestApp};

backend_tests!(
    a_rotated_key_is_published_everywhere_before_it_signs_and_retires_after,
    keys_older_than_the_rotation_period_rotate_by_themselves,
    a_revoked_key_leaves_the_jwks_and_its_tokens_stop_at_once,
);

/// A client_credentials token from `client` at `app`.
async fn token_of(app: &TestApp, (client, secret): (&str, &str)) -> String {
    let answer: Value = reqwest::Client::new()
        .post(app.url("/token"))
        .basic_auth(client, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["access_token"].as_str().unwrap().to_owned()
}

fn kid_of(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

async fn jwks(app: &TestApp) -> String {
    app.get("/jwks").await.text().await.unwrap()
}

async fn kids(app: &TestApp) -> Vec<String> {
    let set: Value = serde_json::from_str(&jwks(app).await).unwrap();
    set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// Asks `check` until it holds, for up to ten seconds (each instance polls every two).
async fn soon<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen within ten seconds");
}

async fn a_rotated_key_is_published_everywhere_before_it_signs_and_retires_after(backend: Backend) {
    let first = TestApp::spawn(backend).await;
    let second = TestApp::spawn_on(first.isolation.clone(), |_| {}).await;
    let web = (WEB, WEB_SECRET);
    let old_token = token_of(&first, web).await;
    let old = kid_of(&old_token);

    let rotated = json_of(&gatehouse(
        &first,
        &["keys", "rotate", "--alg", "RS256", "--output", "json"],
    ));
    let new = rotated[0]["kid"].as_str().unwrap().to_owned();
    for app in [&first, &second] {
        soon("the new key in the JWKS", || async {
            kids(app).await.contains(&new)
        })
        .await;
        assert_eq!(
            kid_of(&token_of(app, web).await),
            old,
            "published, not signing"
        );
    }

    first.advance_clock(Duration::from_secs(3_601));
    for app in [&first, &second] {
        soon("signing with the new key", || async {
            kid_of(&token_of(app, web).await) == new
        })
        .await;
        assert!(kids(app).await.contains(&old), "the old key still verifies");
        gatehouse::keys::verify_with_jwks(&jwks(app).await, &old_token).unwrap();
    }
    // The CLI tells the states by the wall clock, the servers by the test clock.
    let listed = json_of(&gatehouse(&first, &["keys", "list", "--output", "json"]));
    let state = |kid: &str| {
        let key = listed.as_array().unwrap().iter().find(|k| k["kid"] == kid);
        key.unwrap()["state"].as_str().unwrap().to_owned()
    };
    assert_eq!((state(&new), state(&old)), ("next".into(), "active".into()));
    let admin = crate::admin_api::admin_token(&first).await;
    let shown: Value = crate::admin_api::call(
        &first,
        reqwest::Method::GET,
        "/admin/api/v1/keys",
        Some(&admin),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let state = |kid: &str| {
        let key = shown["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid);
        key.unwrap()["state"].as_str().unwrap().to_owned()
    };
    assert_eq!(
        (state(&new), state(&old)),
        ("active".into(), "retiring".into())
    );

    // Past the longest token lifetime (600 s) and a minute's skew, the old key is gone.
    first.advance_clock(Duration::from_secs(700));
    for app in [&first, &second] {
        soon("the old key leaving the JWKS", || async {
            !kids(app).await.contains(&old)
        })
        .await;
        assert!(gatehouse::keys::verify_with_jwks(&jwks(app).await, &old_token).is_err());
    }
}

async fn keys_older_than_the_rotation_period_rotate_by_themselves(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cache = app.get("/jwks").await.headers()["cache-control"].clone();
    assert_eq!(cache, "public, max-age=300");
    let short = TestApp::spawn_with(backend, |s| s.keys.publish_delay_secs = 120).await;
    let cache = short.get("/jwks").await.headers()["cache-control"].clone();
    assert_eq!(cache, "public, max-age=60", "below the publish delay");
    drop(short);
    let before = kids(&app).await;
    assert_eq!(before.len(), 3);
    app.advance_clock(Duration::from_secs(91 * 86_400));
    soon("a scheduled rotation", || async {
        kids(&app).await.len() == 6
    })
    .await;
    let web = (WEB, WEB_SECRET);
    assert!(
        before.contains(&kid_of(&token_of(&app, web).await)),
        "not before the delay"
    );
}

async fn a_revoked_key_leaves_the_jwks_and_its_tokens_stop_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let curve = ("demo-es256", "demo-es256-secret");
    let token = token_of(&app, curve).await;
    let kid = kid_of(&token);
    let active = |token: String| {
        let app = &app;
        async move {
            let answer: Value = reqwest::Client::new()
                .post(app.url("/introspect"))
                .basic_auth(curve.0, Some(curve.1))
                .form(&[("token", token.as_str())])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            answer["active"] == true
        }
    };
    assert!(active(token.clone()).await);

    let admin = crate::admin_api::admin_token(&app).await;
    let path = format!("/admin/api/v1/keys/{kid}/revoke");
    let revoked =
        crate::admin_api::call(&app, reqwest::Method::POST, &path, Some(&admin), None).await;
    assert_eq!(revoked.status(), 200);
    let revoked: Value = revoked.json().await.unwrap();
    let replacement = revoked["replacement"].as_str().unwrap().to_owned();
    soon("the revoked key leaving the JWKS", || async {
        let kids = kids(&app).await;
        !kids.contains(&kid) && kids.contains(&replacement)
    })
    .await;
    assert!(!active(token).await, "its tokens fail introspection");
    let fresh = token_of(&app, curve).await;
    assert_eq!(kid_of(&fresh), replacement, "the replacement signs at once");
    assert!(active(fresh).await);
    let again =
        crate::admin_api::call(&app, reqwest::Method::POST, &path, Some(&admin), None).await;
    assert_eq!(again.status(), 404);
}

/// On PostgreSQL a key change reaches a running instance by notification, not at its next
/// poll: a revocation made by the CLI (another process) leaves the server's JWKS well
/// within the two-second poll, on every one of three tries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_redis_a_cli_revocation_reaches_the_server_by_notification() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let curve = ("demo-eddsa", "demo-eddsa-secret");
    for _ in 0..3 {
        let kid = kid_of(&token_of(&app, curve).await);
        let revoked = gatehouse(&app, &["keys", "revoke", &kid]);
        assert!(
            revoked.status.success(),
            "{}",
            String::from_utf8_lossy(&revoked.stderr)
        );
        let since = std::time::Instant::now();
        while kids(&app).await.contains(&kid) {
            assert!(
                since.elapsed() < Duration::from_millis(900),
                "the revoked key was still published after 900 ms"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_ne!(kid_of(&token_of(&app, curve).await), kid);
    }
}
