//! Under attack: per-address and per-account limits, the bounded hash queue, the audit log
//! and a flood of malformed requests, on both backends.

mod audit;
mod flood;
mod limits;

use crate::flow::*;
use crate::helpers::TestApp;

/// What a browser saw when it posted a sign-in form.
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub retry_after: Option<String>,
}

impl Answer {
    /// The answer to a wrong password (or a locked account: they must not differ).
    pub fn is_wrong_password(&self) -> bool {
        self.status == 200 && self.body.contains("Wrong email or password.")
    }

    pub fn signed_in(&self) -> bool {
        self.status == 303 || self.status == 302
    }
}

/// A browser, optionally behind a trusted proxy that says it is `forwarded_for`.
pub fn browser(forwarded_for: Option<&str>) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(address) = forwarded_for {
        headers.insert("x-forwarded-for", address.parse().unwrap());
    }
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap()
}

/// A fresh sign-in form for the confidential demo client: (request id, CSRF value).
pub async fn login_form(app: &TestApp, browser: &reqwest::Client) -> (String, String) {
    let (_, challenge) = pkce_pair();
    let start = authorize_url(app, &standard_params(WEB, &challenge, "openid"));
    let redirected = browser.get(&start).send().await.unwrap();
    assert_eq!(redirected.status(), 303, "a sign-in page");
    let login = redirected.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    let page = browser.get(app.url(&login)).send().await.unwrap();
    let page = page.text().await.unwrap();
    (
        hidden_field(&page, "request").unwrap(),
        hidden_field(&page, "csrf").unwrap(),
    )
}

/// Posts a prepared sign-in form.
pub async fn submit(
    app: &TestApp,
    browser: &reqwest::Client,
    (request, csrf): &(String, String),
    email: &str,
    password: &str,
) -> Answer {
    let form = [
        ("request", request.as_str()),
        ("csrf", csrf.as_str()),
        ("email", email),
        ("password", password),
    ];
    let answer = browser
        .post(app.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let retry_after = answer
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    Answer {
        status: answer.status().as_u16(),
        body: answer.text().await.unwrap(),
        retry_after,
    }
}

/// Opens a sign-in form and signs in with `email` and `password`.
pub async fn sign_in(
    app: &TestApp,
    browser: &reqwest::Client,
    email: &str,
    password: &str,
) -> Answer {
    let form = login_form(app, browser).await;
    submit(app, browser, &form, email, password).await
}
