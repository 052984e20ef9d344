//! Native apps (RFC 8252): the demo native client signs in through a loopback IP redirect on
//! whatever port it listens on, and through its private-use scheme; the code exchange
//! repeats that exact URI; other paths, and other ports for a web client, are refused.

use crate::backend_tests;
use crate::flow::{
    Choice, PASSWORD_OF_USER, USER_EMAIL, authorize_url, drive, pkce_pair, query, token_request,
};
use crate::helpers::{Backend, TestApp};

backend_tests!(
    a_native_app_signs_in_on_any_loopback_port_and_exchanges_with_that_uri,
    a_native_app_signs_in_through_its_private_use_scheme,
    other_paths_and_a_web_clients_other_ports_are_refused,
);

const NATIVE: &str = "demo-native";

/// Signs in for `client` with `redirect_uri` and returns where the browser was sent and the
/// PKCE verifier.
async fn sign_in(app: &TestApp, client: &str, redirect_uri: &str) -> (String, String) {
    let (verifier, challenge) = pkce_pair();
    let url = authorize_url(
        app,
        &[
            ("response_type", "code"),
            ("client_id", client),
            ("redirect_uri", redirect_uri),
            ("scope", "openid"),
            ("state", "st"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let back = drive(
        app,
        &app.http,
        &url,
        USER_EMAIL,
        PASSWORD_OF_USER,
        Choice::Allow,
    )
    .await;
    (back, verifier)
}

async fn exchange(app: &TestApp, code: &str, redirect_uri: &str, verifier: &str) -> u16 {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
    ];
    token_request(app, NATIVE, &form).await.status().as_u16()
}

/// A port nothing is registered with.
fn some_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

async fn a_native_app_signs_in_on_any_loopback_port_and_exchanges_with_that_uri(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let redirect = format!("http://127.0.0.1:{}/callback", some_port());

    let (back, verifier) = sign_in(&app, NATIVE, &redirect).await;

    assert!(back.starts_with(&format!("{redirect}?")), "{back}");
    let code = query(&back)["code"].clone();
    let registered = "http://127.0.0.1/callback";
    assert_eq!(
        exchange(&app, &code, registered, &verifier).await,
        400,
        "not the URI used"
    );
    let (back, verifier) = sign_in(&app, NATIVE, &redirect).await;
    let code = query(&back)["code"].clone();
    assert_eq!(exchange(&app, &code, &redirect, &verifier).await, 200);
}

async fn a_native_app_signs_in_through_its_private_use_scheme(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let redirect = "com.example.gatehouse:/callback";

    let (back, verifier) = sign_in(&app, NATIVE, redirect).await;

    assert!(
        back.starts_with("com.example.gatehouse:/callback?"),
        "{back}"
    );
    let code = query(&back)["code"].clone();
    assert_eq!(exchange(&app, &code, redirect, &verifier).await, 200);
}

async fn other_paths_and_a_web_clients_other_ports_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let port = some_port();
    for (client, uri) in [
        (NATIVE, format!("http://127.0.0.1:{port}/other")),
        (NATIVE, format!("http://localhost:{port}/callback")),
        ("demo-spa", format!("http://127.0.0.1:{port}/callback")),
    ] {
        let (_, challenge) = pkce_pair();
        let url = authorize_url(
            &app,
            &[
                ("response_type", "code"),
                ("client_id", client),
                ("redirect_uri", &uri),
                ("scope", "openid"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        );
        let response = app.http.get(&url).send().await.unwrap();
        assert_eq!(
            response.status(),
            400,
            "{client} {uri}: shown as a page, not redirected"
        );
    }
}
