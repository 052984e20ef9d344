//! Registration, the mailed link and a password change, in a real browser: each page works
//! without JavaScript, shows its errors next to the field and logs nothing to the console.

use fantoccini::Client;

use super::*;
use crate::accounts::{STRONG, wait_for_mail};

const EMAIL: &str = "browser.person@example.com";
const NEW_PASSWORD: &str = "quartz-Meadow-9-lantern";

/// Submits the account sign-in form with `password` as the new person.
async fn sign_in_as_new_person(browser: &Client, password: &str) {
    fill(browser, "email", EMAIL).await;
    fill(browser, "password", password).await;
    click(browser, "sign-in").await;
}

async fn register_in_the_browser(browser: &Client, app: &TestApp) {
    browser.goto(&app.url("/register")).await.unwrap();
    wait_for(browser, "register").await;
    assert_console_clean(browser, "the registration page").await;
    fill(browser, "email", EMAIL).await;
    fill(browser, "name", "Browser Person").await;
    fill(browser, "password", "password1").await;
    click(browser, "register").await;
    let weak = wait_for(browser, "password-error").await;
    assert!(weak.text().await.unwrap().contains("too easy to guess"));
    assert_console_clean(browser, "a refused registration").await;
    fill(browser, "password", STRONG).await;
    click(browser, "register").await;
    let message = wait_for(browser, "message").await;
    assert!(message.text().await.unwrap().contains(EMAIL));
    assert_console_clean(browser, "the check-your-mail page").await;
}

async fn change_password(browser: &Client) {
    fill(browser, "current_password", STRONG).await;
    fill(browser, "new_password", NEW_PASSWORD).await;
    fill(browser, "confirm_password", NEW_PASSWORD).await;
    click(browser, "change-password").await;
    let done = wait_for(browser, "done").await;
    assert!(done.text().await.unwrap().starts_with("Password changed."));
    assert_console_clean(browser, "a password change").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_registers_confirms_and_changes_the_password_in_a_real_browser() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for path in [
        "/register",
        "/password/forgot",
        "/password/reset?token=x",
        "/email/verify?token=x",
        "/email/pending?request=x",
    ] {
        assert_security_headers(&app, path).await;
    }
    let driver = ChromeDriver::start();
    let browser = driver.browser().await;
    register_in_the_browser(&browser, &app).await;

    let mail = wait_for_mail(&app, EMAIL, "Confirm your email", 1).await;
    browser.goto(&mail.link()).await.unwrap();
    wait_for(&browser, "confirm-email").await;
    assert_console_clean(&browser, "the confirmation page").await;
    click(&browser, "confirm-email").await;
    wait_for(&browser, "next").await.click().await.unwrap();
    wait_for(&browser, "email").await;
    sign_in_as_new_person(&browser, STRONG).await;
    let status = wait_for(&browser, "email-status").await;
    assert_eq!(status.text().await.unwrap(), "verified");
    change_password(&browser).await;

    browser.delete_all_cookies().await.unwrap();
    browser.goto(&app.url("/account")).await.unwrap();
    wait_for(&browser, "email").await;
    sign_in_as_new_person(&browser, STRONG).await;
    let refused = wait_for(&browser, "login-error").await;
    assert_eq!(refused.text().await.unwrap(), "Wrong email or password.");
    sign_in_as_new_person(&browser, NEW_PASSWORD).await;
    wait_for(&browser, "save-profile").await;
    assert_console_clean(&browser, "the account page after the change").await;

    browser.goto(&app.url("/password/forgot")).await.unwrap();
    wait_for(&browser, "send-link").await;
    assert_console_clean(&browser, "the password reset page").await;
    browser.close().await.ok();
}
