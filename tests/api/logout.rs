//! RP-initiated logout, back-channel logout, and the account's session list.

use std::time::Duration;

use josekit::jwk::JwkSet;
use josekit::jws::RS256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::backend_tests;
use crate::flow::*;
use crate::helpers::{Backend, TestApp, http_client};

backend_tests!(
    logout_with_registered_uri_ends_session_and_tokens,
    logout_with_unregistered_uri_is_refused,
    logout_without_hint_asks_for_confirmation,
    backchannel_logout_token_reaches_the_client,
    failing_backchannel_client_is_retried_in_the_background_and_logged,
    user_lists_and_ends_another_session,
);

const POST_LOGOUT: &str = "http://127.0.0.1:8081/";

/// Signs in with `http` as the demo user and returns the token response.
async fn sign_in_with(app: &TestApp, http: &reqwest::Client, client: &str) -> serde_json::Value {
    let (verifier, challenge) = pkce_pair();
    let url = authorize_url(
        app,
        &standard_params(client, &challenge, "openid offline_access"),
    );
    let back = drive(app, http, &url, USER_EMAIL, PASSWORD_OF_USER, Choice::Allow).await;
    let code = query(&back)["code"].clone();
    exchange_code(app, client, &code, &verifier)
        .await
        .json()
        .await
        .unwrap()
}

async fn status_of_next_authorize(app: &TestApp, http: &reqwest::Client) -> (u16, String) {
    let (_, challenge) = pkce_pair();
    let response = http
        .get(authorize_url(
            app,
            &standard_params(SPA, &challenge, "openid"),
        ))
        .send()
        .await
        .unwrap();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (response.status().as_u16(), location)
}

async fn logout_with_registered_uri_ends_session_and_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = sign_in_with(&app, &app.http, SPA).await;
    let hint = tokens["id_token"].as_str().unwrap();

    let url = format!(
        "{}?id_token_hint={hint}&post_logout_redirect_uri={}&state=bye",
        app.url("/logout"),
        url::form_urlencoded::byte_serialize(POST_LOGOUT.as_bytes()).collect::<String>()
    );
    let (status, location, _) = navigate(&app, &url).await;

    assert_eq!(status, 302);
    assert_eq!(location.unwrap(), format!("{POST_LOGOUT}?state=bye"));
    let rt = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(
        json_error(refresh(&app, SPA, rt).await).await,
        (400, "invalid_grant".into()),
        "session's tokens revoked"
    );
    let (status, location) = status_of_next_authorize(&app, &app.http).await;
    assert_eq!(
        (status, location.starts_with("/login?")),
        (303, true),
        "the password is asked again"
    );
}

async fn logout_with_unregistered_uri_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = sign_in_with(&app, &app.http, SPA).await;
    let hint = tokens["id_token"].as_str().unwrap();

    let url = format!(
        "{}?id_token_hint={hint}&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F",
        app.url("/logout")
    );
    let (status, location, body) = navigate(&app, &url).await;

    assert_eq!(status, 400);
    assert!(
        location.is_none(),
        "never redirected to an unregistered URI"
    );
    assert!(body.contains("post_logout_redirect_uri"));
    let (status, _) = status_of_next_authorize(&app, &app.http).await;
    assert_eq!(status, 302, "the session is still there");
}

async fn logout_without_hint_asks_for_confirmation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    sign_in_with(&app, &app.http, SPA).await;

    let url = format!(
        "{}?client_id={SPA}&post_logout_redirect_uri={}&state=s2",
        app.url("/logout"),
        url::form_urlencoded::byte_serialize(POST_LOGOUT.as_bytes()).collect::<String>()
    );
    let (status, _, page) = navigate(&app, &url).await;
    assert_eq!(status, 200, "a confirmation page");
    assert!(page.contains("Sign out?"));
    let form = [
        ("csrf", hidden_field(&page, "csrf").unwrap()),
        ("client_id", hidden_field(&page, "client_id").unwrap()),
        (
            "post_logout_redirect_uri",
            hidden_field(&page, "post_logout_redirect_uri").unwrap(),
        ),
        ("state", hidden_field(&page, "state").unwrap()),
    ];
    let confirmed = app
        .http
        .post(app.url("/logout/confirm"))
        .form(&form)
        .send()
        .await
        .unwrap();

    assert_eq!(confirmed.status(), 302);
    assert_eq!(
        confirmed.headers()["location"],
        format!("{POST_LOGOUT}?state=s2").as_str()
    );
    let (status, _) = status_of_next_authorize(&app, &app.http).await;
    assert_eq!(status, 303, "signed out");
}

/// A client's back-channel endpoint: hands every POST body to the test.
async fn backchannel_listener() -> (u16, mpsc::UnboundedReceiver<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut data = Vec::new();
                let mut buf = [0u8; 8192];
                loop {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    data.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&data).to_string();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let length = head
                            .lines()
                            .find_map(|l| {
                                l.to_lowercase()
                                    .strip_prefix("content-length: ")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if body.len() >= length || n == 0 {
                            let _ = tx.send(body.to_owned());
                            break;
                        }
                    }
                    if n == 0 {
                        break;
                    }
                }
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    (port, rx)
}

async fn backchannel_logout_token_reaches_the_client(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (port, mut received) = backchannel_listener().await;
    let mut client = gatehouse::demo::spa_client();
    client.id = "bcl-client".into();
    client.backchannel_logout_uri = Some(format!("http://127.0.0.1:{port}/backchannel"));
    app.with_client(&client).await;
    let tokens = sign_in_with(&app, &app.http, "bcl-client").await;
    let id_token = tokens["id_token"].as_str().unwrap();

    let (status, _, _) = navigate(
        &app,
        &format!("{}?id_token_hint={id_token}", app.url("/logout")),
    )
    .await;
    assert_eq!(status, 200, "signed-out page");

    let body = tokio::time::timeout(Duration::from_secs(10), received.recv())
        .await
        .expect("delivered")
        .unwrap();
    let logout_token = url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "logout_token")
        .unwrap()
        .1
        .into_owned();
    let jwks = JwkSet::from_bytes(app.get("/jwks").await.bytes().await.unwrap()).unwrap();
    let verifier = RS256.verifier_from_jwk(jwks.keys()[0]).unwrap();
    let (payload, header) =
        josekit::jws::deserialize_compact(&logout_token, &verifier).expect("signed by our key");
    assert_eq!(header.token_type(), Some("logout+jwt"));
    let claims: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    let id_claims: serde_json::Value = {
        let (payload, _) = josekit::jws::deserialize_compact(id_token, &verifier).unwrap();
        serde_json::from_slice(&payload).unwrap()
    };
    assert_eq!(claims["iss"], app.address);
    assert_eq!(claims["aud"], "bcl-client");
    assert_eq!(claims["sub"], id_claims["sub"]);
    assert_eq!(claims["sid"], id_claims["sid"]);
    assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(claims.get("nonce").is_none() && claims["jti"].is_string());
}

async fn user_lists_and_ends_another_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (laptop, phone) = (http_client(), http_client());
    let laptop_tokens = sign_in_with(&app, &laptop, SPA).await;
    sign_in_with(&app, &phone, SPA).await;

    let page = phone
        .get(app.url("/account/sessions"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        page.matches(r#"name="sid""#).count(),
        2,
        "both sessions are listed"
    );
    assert!(page.contains("this browser") && page.contains("IP 127.0.0.1"));
    let laptop_sid = {
        let token = laptop_tokens["id_token"].as_str().unwrap();
        let payload = token.split('.').nth(1).unwrap();
        use base64::Engine;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&raw).unwrap()["sid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let csrf = hidden_field(&page, "csrf").unwrap();

    let ended = phone
        .post(app.url("/account/sessions/end"))
        .form(&[("csrf", csrf.as_str()), ("sid", &laptop_sid)])
        .send()
        .await
        .unwrap();

    assert_eq!(ended.status(), 303);
    let rt = laptop_tokens["refresh_token"].as_str().unwrap();
    assert_eq!(
        json_error(refresh(&app, SPA, rt).await).await,
        (400, "invalid_grant".into())
    );
    assert_eq!(
        status_of_next_authorize(&app, &laptop).await.0,
        303,
        "the laptop must sign in again"
    );
    assert_eq!(
        status_of_next_authorize(&app, &phone).await.0,
        302,
        "the phone is still signed in"
    );
    let page = phone
        .get(app.url("/account/sessions"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(page.matches(r#"name="sid""#).count(), 1);

    let forged = phone
        .post(app.url("/account/sessions/end"))
        .form(&[("csrf", "forged"), ("sid", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403, "CSRF-protected");
}

async fn failing_backchannel_client_is_retried_in_the_background_and_logged(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client_id = format!("dead-bcl-{}", uuid::Uuid::new_v4().simple());
    let mut client = gatehouse::demo::spa_client();
    client.id = client_id.clone();
    // Nothing listens on port 1: every delivery attempt is refused.
    client.backchannel_logout_uri = Some("http://127.0.0.1:1/backchannel".into());
    app.with_client(&client).await;
    let tokens = sign_in_with(&app, &app.http, &client_id).await;
    let hint = tokens["id_token"].as_str().unwrap();

    let started = std::time::Instant::now();
    let (status, _, _) = navigate(
        &app,
        &format!("{}?id_token_hint={hint}", app.url("/logout")),
    )
    .await;

    assert_eq!(status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the user is not kept waiting for retries"
    );
    let wanted = format!("client_id={client_id}");
    let mut logged = false;
    for _ in 0..150 {
        let raw =
            String::from_utf8_lossy(&crate::helpers::captured_logs().lock().unwrap()).into_owned();
        let logs = strip_ansi(&raw);
        if logs
            .lines()
            .any(|l| l.contains("back-channel logout failed") && l.contains(&wanted))
        {
            logged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        logged,
        "a client that never answers is logged after the retries"
    );
}

/// The human log format colours its fields; tests read plain text.
fn strip_ansi(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}
