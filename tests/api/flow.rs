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
