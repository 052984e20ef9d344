//! A few thousand malformed requests at every endpoint: each gets a 4xx (or an ordinary
//! answer), never a 5xx, and nothing is spent that an honest flow needs afterwards.

use futures_util::StreamExt;
use reqwest::Method;

use crate::backend_tests;
use crate::flow::*;
use crate::helpers::{Backend, TestApp};

backend_tests!(malformed_requests_get_4xx_and_spend_nothing);

const PATHS: [&str; 19] = [
    "/.well-known/openid-configuration",
    "/.well-known/oauth-authorization-server",
    "/jwks",
    "/authorize",
    "/authorize/resume",
    "/token",
    "/userinfo",
    "/login",
    "/consent",
    "/healthz",
    "/readyz",
    "/static/style.css",
    "/revoke",
    "/introspect",
    "/logout",
    "/logout/confirm",
    "/account/login",
    "/account/sessions",
    "/account/sessions/end",
];

/// One malformed request: its method, query, headers and body, numbered by `variant`.
struct Garbage {
    method: Method,
    query: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

fn garbage(variant: usize) -> Garbage {
    let methods = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::OPTIONS,
    ];
    let long = "x".repeat(9000);
    let (query, headers, body): (String, Vec<(&'static str, String)>, Vec<u8>) = match variant % 12
    {
        0 => ("%ff%fe=%zz&&==".into(), vec![], b"%ff%fe=%zz&a".to_vec()),
        1 => (
            "a=1&a=2&client_id=x&client_id=y".into(),
            form(),
            b"a=1&a=1&grant_type=x&grant_type=y".to_vec(),
        ),
        2 => (
            format!("client_id={long}&state={long}"),
            form(),
            format!("client_id={long}&code={long}").into_bytes(),
        ),
        3 => (
            String::new(),
            form(),
            vec![0xff, 0xfe, 0x00, 0x3d, 0xc3, 0x28],
        ),
        4 => (
            String::new(),
            json(),
            br#"{"grant_type":"client_credentials","client_id":"demo-web"}"#.to_vec(),
        ),
        5 => (String::new(), form(), vec![b'a'; 20 * 1024]),
        6 => (
            String::new(),
            vec![("content-type", "text/xml".into())],
            b"<a/>".to_vec(),
        ),
        7 => (
            "response_type=code&client_id=demo-spa&redirect_uri=javascript:alert(1)".into(),
            vec![(
                "cookie",
                "__Host-gatehouse_session=%%%; __Host-gatehouse_binding=\"x".into(),
            )],
            vec![],
        ),
        8 => (
            String::new(),
            vec![("authorization", "Basic !!!not-base64".into())],
            b"grant_type=client_credentials".to_vec(),
        ),
        9 => (
            String::new(),
            vec![
                ("authorization", "Bearer a.b.c".into()),
                ("x-forwarded-for", "not an address".into()),
            ],
            vec![],
        ),
        10 => (
            "request=&csrf=&email=&password=".into(),
            form(),
            b"request=x&csrf=y&email=a@b.c&password=p&decision=allow&sid=z".to_vec(),
        ),
        _ => (
            String::new(),
            vec![("x-long", "h".repeat(40 * 1024))],
            vec![],
        ),
    };
    Garbage {
        method: methods[variant / 12 % methods.len()].clone(),
        query,
        headers,
        body,
    }
}

fn form() -> Vec<(&'static str, String)> {
    vec![("content-type", "application/x-www-form-urlencoded".into())]
}

fn json() -> Vec<(&'static str, String)> {
    vec![("content-type", "application/json".into())]
}

async fn send(http: &reqwest::Client, app: &TestApp, n: usize) -> Result<u16, String> {
    let path = PATHS[n % PATHS.len()];
    let g = garbage(n / PATHS.len());
    let url = match g.query.is_empty() {
        true => app.url(path),
        false => format!("{}?{}", app.url(path), g.query),
    };
    let mut request = http.request(g.method.clone(), url).body(g.body);
    for (name, value) in g.headers {
        request = request.header(name, value);
    }
    match request.send().await {
        Ok(answer) => Ok(answer.status().as_u16()),
        Err(e) => Err(format!("{} {path}: {e}", g.method)),
    }
}

async fn malformed_requests_get_4xx_and_spend_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let total = PATHS.len() * 12 * 5 * 2;

    let answers: Vec<_> = futures_util::stream::iter(0..total)
        .map(|n| send(&http, &app, n))
        .buffer_unordered(16)
        .collect()
        .await;

    let failed: Vec<_> = answers
        .iter()
        .filter_map(|a| a.as_ref().err())
        .take(5)
        .collect();
    assert!(failed.is_empty(), "every request was answered: {failed:?}");
    let server_errors = answers.iter().flatten().filter(|s| **s >= 500).count();
    assert_eq!(server_errors, 0, "no 5xx among {total} malformed requests");
    let (code, verifier) = obtain_code(&app, SPA, "openid").await;
    let exchanged = exchange_code(&app, SPA, &code, &verifier).await;
    assert_eq!(exchanged.status(), 200, "an honest flow still succeeds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_authorization_header_is_refused_not_picked() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let good = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{WEB}:{WEB_SECRET}")
        )
    );

    let answer = reqwest::Client::new()
        .post(app.url("/token"))
        .header("authorization", good)
        .header("authorization", "Basic bm9ib2R5Om5vdGhpbmc=")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();

    assert_eq!(json_error(answer).await, (400, "invalid_request".into()));
}
