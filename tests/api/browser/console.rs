//! The admin console in a real browser: signing in from a console address comes back to
//! it, a new client's secret is shown once (its page, reloaded or returned to, never shows
//! it), a signed-in user without the admin role is refused, and no page logs an error.

use super::*;
use crate::console::{ADMIN_EMAIL, ADMIN_PASSWORD};

async fn sign_in_as(browser: &Client, (email, password): (&str, &str)) {
    fill(browser, "email", email).await;
    fill(browser, "password", password).await;
    click(browser, "sign-in").await;
}

/// Registers a client in the open console; its secret, from the page that shows it once.
async fn register_client(browser: &Client) -> String {
    click(browser, "nav-clients").await;
    wait_for(browser, "new-client").await.click().await.unwrap();
    wait_for(browser, "save-client").await;
    assert_console_clean(browser, "the client form").await;
    fill(browser, "name", "Browser Console App").await;
    fill(browser, "redirect_uris", "https://browser.example/callback").await;
    click(browser, "save-client").await;
    let secret = wait_for(browser, "secret").await.text().await.unwrap();
    assert!(secret.len() >= 32, "{secret}");
    assert_console_clean(browser, "the secret page").await;
    secret
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_registers_a_client_and_a_user_is_refused_in_a_real_browser() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    assert_security_headers(&app, "/admin").await;
    let driver = ChromeDriver::start();
    let browser = driver.browser().await;

    browser.goto(&app.url("/admin")).await.unwrap();
    wait_for(&browser, "sign-in").await;
    sign_in_as(&browser, (ADMIN_EMAIL, ADMIN_PASSWORD)).await;
    wait_for(&browser, "console-title").await;
    assert_console_clean(&browser, "the console").await;

    let secret = register_client(&browser).await;
    click(&browser, "continue").await;
    wait_for(&browser, "client-id").await;
    assert!(!browser.source().await.unwrap().contains(&secret));
    browser.refresh().await.unwrap();
    wait_for(&browser, "client-id").await;
    assert!(
        !browser.source().await.unwrap().contains(&secret),
        "reloaded"
    );
    click(&browser, "edit-client").await;
    wait_for(&browser, "save-client").await;
    browser.back().await.unwrap();
    wait_for(&browser, "client-id").await;
    let page = browser.source().await.unwrap();
    assert!(
        page.contains("Browser Console App") && !page.contains(&secret),
        "returned to"
    );
    assert_console_clean(&browser, "the client page").await;
    browser.close().await.unwrap();

    let other = driver.browser().await;
    other.goto(&app.url("/account/login")).await.unwrap();
    wait_for(&other, "sign-in").await;
    sign_in_as(&other, (USER_EMAIL, PASSWORD_OF_USER)).await;
    wait_for(&other, "profile").await;
    other.goto(&app.url("/admin")).await.unwrap();
    let refused = other.source().await.unwrap();
    assert!(refused.contains("Admins only"), "{refused}");
    assert!(!refused.contains("console-title"));
    other.close().await.unwrap();
}
