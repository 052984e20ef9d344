//! The audit log through the admin API, on both backends: searched by user, client, kind
//! and time window, newest first and page by page, bad values refused naming their field,
//! and only for operators.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::accounts::STRONG;
use crate::admin_api::{admin_token, call, user_token};
use crate::backend_tests;
use crate::helpers::{Backend, TestApp};

backend_tests!(
    events_are_found_by_user_client_and_kind,
    events_come_page_by_page_and_by_time_window,
    bad_searches_and_strangers_are_refused,
);

const EVENTS: &str = "/admin/api/v1/audit-events";

/// The answer to a search that must succeed.
async fn search(app: &TestApp, token: &str, query: &str) -> Value {
    let answer = call(
        app,
        Method::GET,
        &format!("{EVENTS}?{query}"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(answer.status(), 200, "{query}");
    assert_eq!(answer.headers()["cache-control"], "no-store");
    answer.json().await.unwrap()
}

fn kinds(page: &Value) -> Vec<&str> {
    let events = page["events"].as_array().unwrap();
    events.iter().map(|e| e["kind"].as_str().unwrap()).collect()
}

async fn post(app: &TestApp, token: &str, path: &str, body: Option<Value>) -> Value {
    let answer = call(app, Method::POST, path, Some(token), body).await;
    assert!(answer.status().is_success(), "{path}: {}", answer.status());
    answer.json().await.unwrap()
}

async fn events_are_found_by_user_client_and_kind(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = admin_token(&app).await;
    let dora = json!({"email": "dora@example.com", "password": STRONG});
    let dora = post(&app, &token, "/admin/api/v1/users", Some(dora)).await;
    let dora = dora["id"].as_str().unwrap();
    let password = json!({"password": "velvet-harbour-comet-77"});
    let path = format!("/admin/api/v1/users/{dora}/password");
    let set = call(&app, Method::PUT, &path, Some(&token), Some(password)).await;
    assert_eq!(set.status(), 204);
    let client = json!({"client_name": "Audited", "redirect_uris": [crate::flow::REDIRECT]});
    let client = post(&app, &token, "/admin/api/v1/clients", Some(client)).await;
    let client = client["client_id"].as_str().unwrap();
    post(
        &app,
        &token,
        &format!("/admin/api/v1/clients/{client}/secret"),
        None,
    )
    .await;

    let by_user = search(&app, &token, &format!("user={dora}")).await;
    assert_eq!(
        kinds(&by_user),
        ["password_set_by_operator", "user_created"]
    );
    let created = &by_user["events"][1];
    assert_eq!(created["user_id"], dora);
    assert_eq!(
        created["detail"]["by"].as_str().unwrap().split(':').next(),
        Some("user")
    );
    assert!(
        created["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    let by_client = search(&app, &token, &format!("client={client}")).await;
    assert_eq!(
        kinds(&by_client),
        ["client_secret_rotated", "client_created"]
    );
    assert!(by_client["events"][0]["id"].as_i64() > by_client["events"][1]["id"].as_i64());
    assert_eq!(by_client["next_cursor"], Value::Null);
    let by_kind = search(
        &app,
        &token,
        &format!("kind=client_created&client={client}"),
    )
    .await;
    assert_eq!(kinds(&by_kind), ["client_created"]);
    assert_eq!(
        by_kind["events"][0]["detail"]["client_type"],
        "confidential"
    );

    // Sign-ins are written in batches, a moment later: wait for the admin's own.
    let mut signed_in = Value::Null;
    for _ in 0..50 {
        signed_in = search(&app, &token, "kind=login_succeeded").await;
        if !kinds(&signed_in).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let events = signed_in["events"].as_array().unwrap();
    assert!(!events.is_empty(), "the admin's sign-in is in the log");
    assert!(events.iter().all(|e| e["kind"] == "login_succeeded"));
}

async fn events_come_page_by_page_and_by_time_window(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = admin_token(&app).await;
    let mut made = Vec::new();
    for name in ["early", "middle", "late"] {
        post(
            &app,
            &token,
            "/admin/api/v1/roles",
            Some(json!({"name": name})),
        )
        .await;
        made.push(name);
        app.advance_clock(Duration::from_secs(60));
    }

    let mut seen = Vec::new();
    let mut ids = Vec::new();
    let mut query = "kind=role_created&limit=2".to_owned();
    loop {
        let page = search(&app, &token, &query).await;
        let events = page["events"].as_array().unwrap();
        assert!(events.len() <= 2 && !events.is_empty(), "{page}");
        for event in events {
            seen.push(event["detail"]["role"].as_str().unwrap().to_owned());
            ids.push(event["id"].as_i64().unwrap());
        }
        let Some(next) = page["next_cursor"].as_str() else {
            break;
        };
        query = format!("kind=role_created&limit=2&cursor={next}");
    }
    made.reverse();
    assert_eq!(seen, made, "newest first, each once, over two pages");
    assert!(ids.windows(2).all(|w| w[0] > w[1]));

    let all = search(&app, &token, "kind=role_created").await;
    let middle = all["events"][1]["at"].as_str().unwrap().to_owned();
    assert!(middle.ends_with('Z'), "{middle}");
    let role = |page: &Value| -> Vec<String> {
        let events = page["events"].as_array().unwrap();
        events
            .iter()
            .map(|e| e["detail"]["role"].as_str().unwrap().to_owned())
            .collect()
    };
    let since = search(&app, &token, &format!("kind=role_created&since={middle}")).await;
    assert_eq!(role(&since), ["late", "middle"], "since is inclusive");
    let until = search(&app, &token, &format!("kind=role_created&until={middle}")).await;
    assert_eq!(role(&until), ["early"], "until is exclusive");
    let future = search(&app, &token, "since=2999-01-01T00:00:00Z").await;
    assert_eq!(future, json!({"events": [], "next_cursor": null}));
}

/// The 400 problem a search gets, and the field it names.
async fn refused(app: &TestApp, token: &str, query: &str) -> Value {
    let answer = call(
        app,
        Method::GET,
        &format!("{EVENTS}?{query}"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(answer.status(), 400, "{query}");
    assert_eq!(answer.headers()["content-type"], "application/problem+json");
    answer.json().await.unwrap()
}

async fn bad_searches_and_strangers_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = admin_token(&app).await;
    for (query, field) in [
        ("kind=login", "kind"),
        ("since=yesterday", "since"),
        ("until=2026-01-01", "until"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("cursor=not-one-of-ours", "cursor"),
    ] {
        let problem = refused(&app, &token, query).await;
        assert_eq!(problem["errors"][0]["field"], field, "{query}: {problem}");
    }
    let misspelt = refused(&app, &token, "usr=someone").await;
    assert!(
        misspelt["detail"].as_str().unwrap().contains("usr"),
        "{misspelt}"
    );

    let none = call(&app, Method::GET, EVENTS, None, None).await;
    assert_eq!(none.status(), 401);
    let stranger = call(&app, Method::GET, &format!("{EVENTS}?usr=x"), None, None).await;
    assert_eq!(
        stranger.status(),
        401,
        "the token is checked before the query"
    );
    let user = user_token(&app, "user@example.com", "User@123").await;
    let forbidden = call(&app, Method::GET, EVENTS, Some(&user), None).await;
    assert_eq!(forbidden.status(), 403);
}
