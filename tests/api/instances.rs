//! Two Gatehouse instances sharing PostgreSQL and Redis: state issued by one is honoured by
//! the other, and the refresh retry window holds across them and under concurrency.

use std::time::Duration;

use crate::flow::*;
use crate::helpers::{Backend, TestApp};

async fn pair(grace: i64) -> (TestApp, TestApp) {
    let first = TestApp::spawn_with(Backend::Postgres, |s| {
        s.tokens.refresh_retry_grace_secs = grace
    })
    .await;
    let issuer = first.address.clone();
    let second = TestApp::spawn_on(first.isolation.clone(), |s| {
        s.server.issuer = issuer;
        s.tokens.refresh_retry_grace_secs = grace;
    })
    .await;
    (first, second)
}

/// Tokens of the confidential demo client: public clients get no retry grace.
async fn tokens_at(app: &TestApp) -> serde_json::Value {
    let (code, verifier) = obtain_code(app, WEB, "openid offline_access").await;
    let response = exchange_code(app, WEB, &code, &verifier).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_issued_by_one_instance_is_redeemed_at_the_other() {
    let (first, second) = pair(10).await;
    let (code, verifier) = obtain_code(&first, SPA, "openid").await;

    let response = exchange_code(&second, SPA, &code, &verifier).await;

    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["id_token"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_within_grace_at_other_instance_gets_same_response_then_reuse_revokes() {
    let (first, second) = pair(2).await;
    let rt1 = tokens_at(&first).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let original = refresh(&first, WEB, &rt1).await.text().await.unwrap();
    let retry = refresh(&second, WEB, &rt1).await;

    assert_eq!(retry.status(), 200);
    assert_eq!(
        retry.text().await.unwrap(),
        original,
        "the same response, byte for byte"
    );

    first.advance_clock(Duration::from_millis(2300));
    assert_eq!(
        json_error(refresh(&second, WEB, &rt1).await).await,
        (400, "invalid_grant".into())
    );
    let rt2 = serde_json::from_str::<serde_json::Value>(&original).unwrap()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        json_error(refresh(&first, WEB, &rt2).await).await,
        (400, "invalid_grant".into()),
        "family revoked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_of_one_token_rotate_exactly_once() {
    let (first, second) = pair(10).await;
    for _ in 0..3 {
        let rt = tokens_at(&first).await["refresh_token"]
            .as_str()
            .unwrap()
            .to_owned();

        let (a, b) = tokio::join!(refresh(&first, WEB, &rt), refresh(&second, WEB, &rt));

        assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
        let a: serde_json::Value = a.json().await.unwrap();
        let b: serde_json::Value = b.json().await.unwrap();
        assert_eq!(
            a["refresh_token"], b["refresh_token"],
            "one rotation, one new token"
        );
        let next = a["refresh_token"].as_str().unwrap();
        assert_eq!(
            refresh(&second, WEB, next).await.status(),
            200,
            "and the new token is live"
        );
    }
}
