//! `/metrics` as Prometheus reads it: valid exposition text (by our strict reader and by
//! promtool), every family there from the start at zero, on its own listener only, with
//! routes as patterns and latencies that move.

use crate::backend_tests;
use crate::flow::{WEB, token_request};
use crate::helpers::{Backend, TestApp};

use super::{promtool, scrape, scrape_text};

backend_tests!(
    every_family_is_exported_at_zero_from_the_start,
    latencies_are_histograms_that_move,
);

/// Every family, with its type, that dashboards and alerts may name.
pub const FAMILIES: &[(&str, &str)] = &[
    ("gatehouse_build_info", "gauge"),
    ("gatehouse_http_requests_total", "counter"),
    ("gatehouse_http_request_duration_seconds", "histogram"),
    ("gatehouse_tokens_issued_total", "counter"),
    ("gatehouse_logins_total", "counter"),
    ("gatehouse_refresh_token_reuse_detected_total", "counter"),
    ("gatehouse_authorization_code_replays_total", "counter"),
    ("gatehouse_rate_limit_rejections_total", "counter"),
    ("gatehouse_sessions_active", "gauge"),
    ("gatehouse_argon2_queue_depth", "gauge"),
    ("gatehouse_argon2_queue_wait_seconds", "histogram"),
    ("gatehouse_argon2_rejections_total", "counter"),
    ("gatehouse_store_operation_duration_seconds", "histogram"),
    ("gatehouse_store_errors_total", "counter"),
    ("gatehouse_database_query_duration_seconds", "histogram"),
    ("gatehouse_database_errors_total", "counter"),
    ("gatehouse_mail_sent_total", "counter"),
    ("gatehouse_mail_failures_total", "counter"),
    ("gatehouse_mail_outbox_messages", "gauge"),
    ("gatehouse_mail_outbox_oldest_pending_age_seconds", "gauge"),
    ("gatehouse_signing_key_age_seconds", "gauge"),
    ("gatehouse_signing_key_rotation_period_seconds", "gauge"),
];

fn store_backend(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "redis",
    }
}

fn database_backend(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

async fn every_family_is_exported_at_zero_from_the_start(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let text = scrape_text(&app).await;
    let scrape = super::exposition::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));

    for (family, kind) in FAMILIES {
        assert_eq!(
            scrape.types.get(*family).map(String::as_str),
            Some(*kind),
            "{family}"
        );
    }
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        scrape.value("gatehouse_build_info", &[("version", version)]),
        1.0
    );
    for grant in ["authorization_code", "refresh_token", "client_credentials"] {
        for client in ["confidential", "public"] {
            let labels = [("grant_type", grant), ("client_type", client)];
            assert_eq!(scrape.value("gatehouse_tokens_issued_total", &labels), 0.0);
        }
    }
    for outcome in [
        "success",
        "wrong_password",
        "locked",
        "second_factor_failed",
    ] {
        let labels = [("outcome", outcome)];
        assert_eq!(scrape.value("gatehouse_logins_total", &labels), 0.0);
    }
    for limit in [
        "login",
        "login_failures",
        "authorize",
        "token_failures",
        "mail_address",
    ] {
        let labels = [("limit", limit)];
        assert_eq!(
            scrape.value("gatehouse_rate_limit_rejections_total", &labels),
            0.0
        );
    }
    let store = [("backend", store_backend(backend)), ("operation", "take")];
    assert_eq!(scrape.value("gatehouse_store_errors_total", &store), 0.0);
    let db = [
        ("backend", database_backend(backend)),
        ("operation", "update"),
    ];
    assert_eq!(scrape.value("gatehouse_database_errors_total", &db), 0.0);
    let token = [("route", "/token"), ("method", "POST"), ("status", "200")];
    assert_eq!(scrape.value("gatehouse_http_requests_total", &token), 0.0);
    assert_eq!(
        scrape.value(
            "gatehouse_http_request_duration_seconds_count",
            &[("route", "/token")]
        ),
        0.0
    );
    for alg in ["RS256", "ES256", "EdDSA"] {
        let age = scrape.value("gatehouse_signing_key_age_seconds", &[("alg", alg)]);
        assert!(
            (0.0..120.0).contains(&age),
            "a key made at start-up: {alg} {age}"
        );
    }
    let period = f64::from(app.settings.keys.rotate_after_days) * 86_400.0;
    assert_eq!(
        scrape.value("gatehouse_signing_key_rotation_period_seconds", &[]),
        period
    );
    assert_eq!(
        scrape.value("gatehouse_mail_outbox_messages", &[("state", "pending")]),
        0.0
    );
    assert_eq!(scrape.value("gatehouse_sessions_active", &[]), 0.0);
    // Prometheus's own linter agrees (names, types, units, suffixes).
    promtool(&["check", "metrics"], &text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_on_their_own_listener_only() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let metrics = app.metrics_address.clone().unwrap();

    let on_main = app.get("/metrics").await;
    let elsewhere = reqwest::get(format!("{metrics}/healthz")).await.unwrap();
    let scrape = scrape(&app).await;

    assert_eq!(on_main.status(), 404, "the main port has no /metrics");
    assert_eq!(
        elsewhere.status(),
        404,
        "the metrics port serves /metrics alone"
    );
    let unmatched = [("route", "unmatched"), ("method", "GET"), ("status", "404")];
    assert_eq!(
        scrape.value("gatehouse_http_requests_total", &unmatched),
        1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_be_turned_off() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.metrics.listen = None).await;

    let health = app.get("/healthz").await;

    assert!(app.metrics_address.is_none());
    assert_eq!(health.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_are_counted_by_pattern_never_by_raw_path() {
    let app = TestApp::spawn(Backend::Sqlite).await;

    let console = app.get("/admin/clients/client-id-42").await;
    app.get("/no/such/path/secret-looking-77").await;
    app.http
        .request(
            reqwest::Method::from_bytes(b"BREW").unwrap(),
            app.url("/healthz"),
        )
        .send()
        .await
        .unwrap();
    let scrape = scrape(&app).await;

    let pattern = [("route", "/admin/clients/{id}"), ("method", "GET")];
    assert_eq!(
        scrape.sum("gatehouse_http_requests_total", &pattern),
        1.0,
        "{}",
        console.status()
    );
    let brewed = [("route", "/healthz"), ("method", "other")];
    assert_eq!(scrape.sum("gatehouse_http_requests_total", &brewed), 1.0);
    let labels: Vec<&String> = scrape
        .samples
        .iter()
        .flat_map(|s| s.labels.values())
        .collect();
    assert!(
        !labels
            .iter()
            .any(|v| v.contains("client-id-42") || v.contains("secret-looking")),
        "raw path segments never become labels"
    );
}

async fn latencies_are_histograms_that_move(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let before = scrape(&app).await;

    let answer = token_request(&app, WEB, &[("grant_type", "client_credentials")]).await;
    let failed = token_request(
        &app,
        WEB,
        &[("grant_type", "refresh_token"), ("refresh_token", "nope")],
    )
    .await;
    let after = scrape(&app).await;

    assert_eq!(answer.status(), 200);
    assert_eq!(failed.status(), 400);
    let token = [("route", "/token")];
    let count = "gatehouse_http_request_duration_seconds_count";
    assert_eq!(
        after.value(count, &token) - before.value(count, &token),
        2.0
    );
    let ok = [("route", "/token"), ("method", "POST"), ("status", "200")];
    assert_eq!(after.value("gatehouse_http_requests_total", &ok), 1.0);
    let bad = [("route", "/token"), ("method", "POST"), ("status", "400")];
    assert_eq!(after.value("gatehouse_http_requests_total", &bad), 1.0);
    // The bad refresh token was looked up in the store, and its failure counted there.
    let store = "gatehouse_store_operation_duration_seconds_count";
    let labels = [("backend", store_backend(backend))];
    assert!(after.sum(store, &labels) > before.sum(store, &labels));
    let db = "gatehouse_database_query_duration_seconds_count";
    let select = [
        ("backend", database_backend(backend)),
        ("operation", "select"),
    ];
    assert!(
        after.value(db, &select) > before.value(db, &select),
        "the client was read from the database"
    );
}
