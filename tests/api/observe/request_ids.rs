//! Every answer names its request (`X-Request-Id`), whatever it is, and the logs name it
//! too; an id sent in is taken only from a trusted proxy, and only when it is plain.

use std::collections::HashSet;

use crate::flow::{WEB, token_request};
use crate::helpers::{Backend, TestApp, captured_logs};

fn id_of(response: &reqwest::Response) -> String {
    let id = response.headers().get("x-request-id");
    let id = id.unwrap_or_else(|| panic!("no X-Request-Id on {}", response.url()));
    id.to_str().unwrap().to_owned()
}

fn is_uuid(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_a_request_id() {
    let app = TestApp::spawn(Backend::Sqlite).await;

    let ok = app.get("/healthz").await;
    let missing = app.get("/no/such/page").await;
    let oauth_error = token_request(&app, WEB, &[("grant_type", "password")]).await;
    let page = app.get("/account/login").await;
    let error_page = app.get("/authorize?client_id=nobody").await;

    let answers = [
        (&ok, 200),
        (&missing, 404),
        (&oauth_error, 400),
        (&page, 200),
        (&error_page, 400),
    ];
    let mut ids = HashSet::new();
    for (response, status) in answers {
        assert_eq!(response.status(), status, "{}", response.url());
        let id = id_of(response);
        assert!(is_uuid(&id), "a generated id is a UUID: {id}");
        ids.insert(id);
    }
    assert_eq!(ids.len(), 5, "one id per request");
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let logs = String::from_utf8_lossy(&captured_logs().lock().unwrap()).into_owned();
    let id = id_of(&missing);
    assert!(
        logs.contains(&format!("request_id={id}")),
        "the log names the request"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_proxy_names_the_request() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.server.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    let with_id = |id: &str| app.http.get(app.url("/healthz")).header("x-request-id", id);

    let edge = with_id("edge-7f3a91c2:lb/1").send().await.unwrap();
    let unsafe_id = with_id("two words").send().await.unwrap();
    let too_long = with_id(&"a".repeat(129)).send().await.unwrap();

    assert_eq!(id_of(&edge), "edge-7f3a91c2:lb/1");
    assert!(
        is_uuid(&id_of(&unsafe_id)),
        "an id with a space is replaced"
    );
    assert!(is_uuid(&id_of(&too_long)), "an overlong id is replaced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anyone_else_cannot_choose_the_request_id() {
    let app = TestApp::spawn(Backend::Sqlite).await;

    let spoofed = app
        .http
        .get(app.url("/healthz"))
        .header("x-request-id", "chosen-by-me")
        .send()
        .await
        .unwrap();

    let id = id_of(&spoofed);
    assert_ne!(id, "chosen-by-me");
    assert!(is_uuid(&id));
}
