//! Drives the browser side of the code flow over HTTP: follows redirects, fills in the
//! real login and consent forms (with cookies and CSRF), and stops at the client's URI.

use crate::helpers::TestApp;

pub const PASSWORD_OF_USER: &str = "User@123";
pub const USER_EMAIL: &str = "user@example.com";

/// What the user does on our pages.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Allow,
    Deny,
}

pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// A 302/303 target, made absolute against the server.
fn location(app: &TestApp, response: &reqwest::Response) -> String {
    let raw = response.headers()["location"].to_str().unwrap();
    if raw.starts_with('/') {
        app.url(raw)
    } else {
        raw.to_owned()
    }
}

/// Follows the flow from an authorize URL to the redirect back to the client, signing in
/// with the given password when asked and answering consent with `choice`.
pub async fn drive(
    app: &TestApp,
    http: &reqwest::Client,
    start: &str,
    email: &str,
    password: &str,
    choice: Choice,
) -> String {
    let mut url = start.to_owned();
    for _ in 0..12 {
        if !url.starts_with(&app.address) {
            return url;
        }
        let response = http.get(&url).send().await.unwrap();
        let status = response.status().as_u16();
        if status == 302 || status == 303 {
            url = location(app, &response);
            continue;
        }
        assert_eq!(status, 200, "unexpected status at {url}");
        let html = response.text().await.unwrap();
        let request = hidden_field(&html, "request").expect("a form of a pending request");
        let csrf = hidden_field(&html, "csrf").expect("a CSRF token");
        let response = if html.contains(r#"name="password""#) {
            let form = [
                ("request", request.as_str()),
                ("csrf", &csrf),
                ("email", email),
                ("password", password),
            ];
            http.post(app.url("/login"))
                .form(&form)
                .send()
                .await
                .unwrap()
        } else {
            let decision = if choice == Choice::Allow {
                "allow"
            } else {
                "deny"
            };
            let form = [
                ("request", request.as_str()),
                ("csrf", &csrf),
                ("decision", decision),
            ];
            http.post(app.url("/consent"))
                .form(&form)
                .send()
                .await
                .unwrap()
        };
        let status = response.status().as_u16();
        if status == 200 {
            panic!("form was rejected: {}", response.text().await.unwrap());
        }
        url = location(app, &response);
    }
    panic!("the flow did not finish");
}

/// Query parameters of a redirect back to the client.
pub fn query(url: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

pub const SPA: &str = "demo-spa";
pub const WEB: &str = "demo-web";
pub const WEB_SECRET: &str = "demo-web-secret";
pub const REDIRECT: &str = "http://127.0.0.1:8081/callback";

/// A PKCE pair (verifier, S256 challenge).
pub fn pkce_pair() -> (String, String) {
    use base64::Engine;
    use sha2::Digest;
    let verifier = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

pub fn authorize_url(app: &TestApp, params: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&app.url("/authorize")).unwrap();
    url.query_pairs_mut().extend_pairs(params.iter().copied());
    url.to_string()
}

/// The usual parameters for `client`, with a PKCE challenge.
pub fn standard_params<'a>(
    client: &'a str,
    challenge: &'a str,
    scope: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", client),
        ("redirect_uri", REDIRECT),
        ("scope", scope),
        ("state", "st-1"),
        ("nonce", "n-1"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
}

/// Runs the browser part as the demo user and returns the code and the verifier.
pub async fn obtain_code(app: &TestApp, client: &str, scope: &str) -> (String, String) {
    let (verifier, challenge) = pkce_pair();
    let url = authorize_url(app, &standard_params(client, &challenge, scope));
    let back = drive(
        app,
        &app.http,
        &url,
        USER_EMAIL,
        PASSWORD_OF_USER,
        Choice::Allow,
    )
    .await;
    let code = query(&back)
        .get("code")
        .cloned()
        .unwrap_or_else(|| panic!("no code in {back}"));
    (code, verifier)
}

/// A token request as the given client (public: client_id in the body; demo-web: Basic).
pub async fn token_request(
    app: &TestApp,
    client: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut form: Vec<(&str, &str)> = form.to_vec();
    let mut request = reqwest::Client::new().post(app.url("/token"));
    if client == WEB {
        request = request.basic_auth(WEB, Some(WEB_SECRET));
    } else {
        form.push(("client_id", client));
    }
    request.form(&form).send().await.unwrap()
}

pub async fn exchange_code(
    app: &TestApp,
    client: &str,
    code: &str,
    verifier: &str,
) -> reqwest::Response {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
    ];
    token_request(app, client, &form).await
}

pub async fn refresh(app: &TestApp, client: &str, token: &str) -> reqwest::Response {
    token_request(
        app,
        client,
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await
}

pub async fn json_error(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
    )
}

pub async fn userinfo_status(app: &TestApp, access_token: &str) -> u16 {
    reqwest::Client::new()
        .get(app.url("/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// GET without following redirects: the status and the Location, if any.
pub async fn navigate(app: &TestApp, url: &str) -> (u16, Option<String>, String) {
    let response = app.http.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    (status, location, response.text().await.unwrap_or_default())
}
