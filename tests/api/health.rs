//! Liveness and readiness, including a Redis that goes away and comes back.

use std::time::Duration;

use secrecy::SecretString;

use crate::backend_tests;
use crate::helpers::{Backend, PrivateRedis, TestApp};

backend_tests!(healthz_and_readyz_answer_when_all_is_up);

async fn healthz_and_readyz_answer_when_all_is_up(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    assert_eq!(app.get("/healthz").await.status(), 200);
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_follows_redis_down_and_back_up() {
    let mut redis = PrivateRedis::start();
    let url = format!("redis://127.0.0.1:{}", redis.port);
    let app = TestApp::spawn_with(Backend::Postgres, |s| {
        s.redis.url = Some(SecretString::from(url))
    })
    .await;
    assert_eq!(app.get("/readyz").await.status(), 200);

    redis.kill();
    let down = app.get("/readyz").await;
    assert_eq!(down.status(), 503);
    let body: serde_json::Value = down.json().await.unwrap();
    assert_eq!(body["store"], "down");
    assert_eq!(body["database"], "ok");

    redis.resume();
    let mut status = 0;
    for _ in 0..50 {
        status = app.get("/readyz").await.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        status, 200,
        "ready again once Redis is back, without a restart"
    );
}
