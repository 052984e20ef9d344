//! CORS on the API endpoints: the demo SPA's origin is allowed, others get nothing.

use crate::backend_tests;
use crate::helpers::{Backend, TestApp};

backend_tests!(preflight_and_request_from_registered_origin_only);

async fn preflight(app: &TestApp, path: &str, origin: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, app.url(path))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .unwrap()
}

async fn preflight_and_request_from_registered_origin_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let spa = "http://127.0.0.1:8081";

    let ok = preflight(&app, "/token", spa).await;
    assert!(ok.status().is_success());
    assert_eq!(ok.headers()["access-control-allow-origin"], spa);
    assert!(
        ok.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    let request = reqwest::Client::new()
        .post(app.url("/token"))
        .header("Origin", spa)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("client_id", "demo-spa"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(request.headers()["access-control-allow-origin"], spa);

    let evil = "http://evil.example";
    let denied = preflight(&app, "/token", evil).await;
    assert!(
        denied
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let request = reqwest::Client::new()
        .post(app.url("/token"))
        .header("Origin", evil)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("client_id", "demo-spa"),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        request
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    assert!(
        preflight(&app, "/userinfo", evil)
            .await
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    // Discovery and JWKS are public.
    let jwks = reqwest::Client::new()
        .get(app.url("/jwks"))
        .header("Origin", evil)
        .send()
        .await
        .unwrap();
    assert_eq!(jwks.headers()["access-control-allow-origin"], "*");
}
