//! A real browser (headless Chromium via chromedriver) through the real pages: a wrong
//! password shows the error, the right one and Allow land on the client with a code; the
//! account page's forms work without JavaScript; no page logs an error to the console
//! (a style or script the CSP blocks would).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::flow::{PASSWORD_OF_USER, USER_EMAIL, authorize_url, pkce_pair};
use crate::helpers::{Backend, TestApp};

mod console;
mod docs;
mod federation;
mod mfa;
mod selfservice;

struct ChromeDriver(Child, u16);

impl ChromeDriver {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver must be installed (apt-get install chromium chromium-driver)");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Self(child, port)
    }

    async fn browser(&self) -> Client {
        let profile = std::env::temp_dir().join(format!(
            "gatehouse-chrome-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:loggingPrefs".into(),
            serde_json::json!({ "browser": "ALL" }),
        );
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    format!("--user-data-dir={}", profile.display()),
                ]
            }),
        );
        let _ = rustls::crypto::ring::default_provider().install_default();
        ClientBuilder::rustls()
            .unwrap()
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.1))
            .await
            .expect("a Chromium session")
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

/// The console messages logged since the last call (chromedriver's log endpoint, which
/// fantoccini has no method for).
#[derive(Debug)]
struct ConsoleLog;

impl fantoccini::wd::WebDriverCompatibleCommand for ConsoleLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (reqwest::Method, Option<String>) {
        (reqwest::Method::POST, Some(r#"{"type":"browser"}"#.into()))
    }
}

/// Fails on any console error or warning since the last check (CSP violations among them).
async fn assert_console_clean(browser: &Client, page: &str) {
    let log = browser.issue_cmd(ConsoleLog).await.unwrap();
    let complaints: Vec<&serde_json::Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| matches!(entry["level"].as_str(), Some("SEVERE" | "WARNING")))
        .collect();
    assert!(
        complaints.is_empty(),
        "the console at {page}: {complaints:?}"
    );
}

/// The headers every page must carry.
async fn assert_security_headers(app: &TestApp, path: &str) {
    let response = reqwest::get(app.url(path)).await.unwrap();
    let headers = response.headers();
    let csp = headers["content-security-policy"].to_str().unwrap();
    for directive in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "script-src 'self'",
    ] {
        assert!(csp.contains(directive), "{path}: {directive} in {csp}");
    }
    assert_eq!(headers["x-frame-options"], "DENY", "{path}");
    assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
    assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
}

/// A stand-in relying party: answers every request with a small page.
async fn callback_listener() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let body = "<html><body>client callback</body></html>";
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    });
    port
}

/// Waits for an element of the page that a navigation is loading.
async fn wait_for(browser: &Client, id: &str) -> fantoccini::elements::Element {
    match browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id(id))
        .await
    {
        Ok(element) => element,
        Err(e) => panic!(
            "#{id} never appeared ({e}): {}",
            browser.source().await.unwrap_or_default()
        ),
    }
}

/// Fills in the login form as the demo user and submits it.
async fn submit_login(browser: &Client, password: &str) {
    fill(browser, "email", USER_EMAIL).await;
    fill(browser, "password", password).await;
    browser
        .find(Locator::Id("sign-in"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn fill(browser: &Client, id: &str, value: &str) {
    let field = browser.find(Locator::Id(id)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_signs_in_and_consents_in_a_real_browser() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let rp_port = callback_listener().await;
    let redirect = format!("http://127.0.0.1:{rp_port}/callback");
    let mut client = gatehouse::demo::spa_client();
    client.id = "browser-spa".into();
    client.name = "Browser Test App".into();
    client.redirect_uris = vec![redirect.clone()];
    app.with_client(&client).await;
    let driver = ChromeDriver::start();
    let browser = driver.browser().await;
    let (_, challenge) = pkce_pair();
    let state = "browser-state-Ω";
    let url = authorize_url(
        &app,
        &[
            ("response_type", "code"),
            ("client_id", "browser-spa"),
            ("redirect_uri", &redirect),
            ("scope", "openid profile email"),
            ("state", state),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );

    browser.goto(&url).await.unwrap();
    wait_for(&browser, "email").await;
    submit_login(&browser, "not-the-password").await;
    let error = wait_for(&browser, "login-error").await;
    assert_eq!(error.text().await.unwrap(), "Wrong email or password.");

    submit_login(&browser, PASSWORD_OF_USER).await;
    let allow = wait_for(&browser, "allow").await;
    let page = browser.source().await.unwrap();
    assert!(
        page.contains("Browser Test App") && page.contains("See your email address"),
        "the consent page"
    );
    assert_console_clean(&browser, "the sign-in and consent pages").await;
    allow.click().await.unwrap();

    let mut landed = browser.current_url().await.unwrap();
    for _ in 0..50 {
        if landed.as_str().starts_with(&redirect) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        landed = browser.current_url().await.unwrap();
    }
    browser.close().await.ok();
    assert!(landed.as_str().starts_with(&redirect), "landed on {landed}");
    let params: std::collections::HashMap<_, _> = landed.query_pairs().into_owned().collect();
    assert!(params.get("code").is_some_and(|c| c.len() >= 43));
    assert_eq!(params["state"], state);
    assert_eq!(params["iss"], app.address);
}

/// Signs in through the pages for `client_id` and waits until the browser is back at the client.
async fn sign_in_through_pages(browser: &Client, app: &TestApp, client_id: &str, redirect: &str) {
    let (_, challenge) = pkce_pair();
    let url = authorize_url(
        app,
        &[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect),
            ("scope", "openid"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    browser.goto(&url).await.unwrap();
    wait_for(browser, "email").await;
    submit_login(browser, PASSWORD_OF_USER).await;
    wait_for(browser, "allow").await.click().await.unwrap();
    for _ in 0..50 {
        if browser
            .current_url()
            .await
            .unwrap()
            .as_str()
            .starts_with(redirect)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never returned to the client");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ending_the_session_on_the_account_page_signs_the_browser_out() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let rp_port = callback_listener().await;
    let redirect = format!("http://127.0.0.1:{rp_port}/callback");
    let mut client = gatehouse::demo::spa_client();
    client.id = "browser-spa".into();
    client.redirect_uris = vec![redirect.clone()];
    app.with_client(&client).await;
    let driver = ChromeDriver::start();
    let browser = driver.browser().await;
    sign_in_through_pages(&browser, &app, "browser-spa", &redirect).await;

    browser.goto(&app.url("/account/sessions")).await.unwrap();
    let end = wait_for(&browser, "end-1").await;
    let page = browser.source().await.unwrap();
    assert!(
        page.contains("this browser"),
        "the current session is listed"
    );
    end.click().await.unwrap();
    wait_for(&browser, "password").await;

    let (_, challenge) = pkce_pair();
    browser
        .goto(&authorize_url(
            &app,
            &[
                ("response_type", "code"),
                ("client_id", "browser-spa"),
                ("redirect_uri", &redirect),
                ("scope", "openid"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        ))
        .await
        .unwrap();
    wait_for(&browser, "password").await;
    let asked = browser.current_url().await.unwrap();
    browser.close().await.ok();
    assert_eq!(
        asked.path(),
        "/login",
        "the next authorize request asks for the password again"
    );
}

async fn click(browser: &Client, id: &str) {
    let button = browser.find(Locator::Id(id)).await.unwrap();
    button.click().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_page_works_without_javascript_and_logs_nothing() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for path in ["/account", "/account/login", "/login?request=x"] {
        assert_security_headers(&app, path).await;
    }
    let driver = ChromeDriver::start();
    let browser = driver.browser().await;

    browser.goto(&app.url("/account")).await.unwrap();
    wait_for(&browser, "email").await;
    assert_console_clean(&browser, "the sign-in form").await;
    submit_login(&browser, PASSWORD_OF_USER).await;
    wait_for(&browser, "save-profile").await;
    let at = browser.current_url().await.unwrap();
    assert_eq!(at.path(), "/account", "back at the account page");
    let width = browser
        .execute("return document.querySelector('main').offsetWidth", vec![])
        .await
        .unwrap();
    assert!(
        width.as_f64().unwrap() > 500.0,
        "the stylesheet applies: {width}"
    );
    assert_console_clean(&browser, "the account page").await;

    fill(&browser, "current_password", "not-the-password").await;
    fill(&browser, "new_password", "violet-Harbor-7-quill").await;
    fill(&browser, "confirm_password", "violet-Harbor-7-quill").await;
    click(&browser, "change-password").await;
    let error = wait_for(&browser, "current_password-error").await;
    assert_eq!(
        error.text().await.unwrap(),
        "That is not your current password."
    );
    assert_console_clean(&browser, "a refused password change").await;

    fill(&browser, "name", "Uma Browser").await;
    click(&browser, "save-profile").await;
    let done = wait_for(&browser, "done").await;
    assert_eq!(done.text().await.unwrap(), "Profile saved.");

    fill(&browser, "current_password", PASSWORD_OF_USER).await;
    fill(&browser, "new_password", "violet-Harbor-7-quill").await;
    fill(&browser, "confirm_password", "violet-Harbor-7-quill").await;
    click(&browser, "change-password").await;
    for _ in 0..50 {
        let page = browser.source().await.unwrap();
        if page.contains("Password changed.") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let page = browser.source().await.unwrap();
    assert_console_clean(&browser, "a password change").await;
    browser.close().await.ok();
    assert!(
        page.contains("Password changed."),
        "the change is confirmed"
    );
    assert!(page.contains(r#"value="Uma Browser""#));
}
