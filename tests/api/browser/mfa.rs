//! Two-step verification in a real browser: set up an authenticator app from the page (the
//! code computed from the secret it shows), sign out, sign in with the password and a code,
//! and once more with a recovery code; no page logs anything to the console.

use std::time::Duration;

use fantoccini::Client;
use gatehouse::clock::Clock;
use gatehouse::mfa::totp::TotpSecret;

use super::*;

fn now_secs(app: &TestApp) -> u64 {
    app.isolation.clock.now().secs() as u64
}

/// From the account page: sets up TOTP; returns the secret shown and the recovery codes.
async fn enrol(browser: &Client, app: &TestApp) -> (TotpSecret, Vec<String>) {
    click(browser, "manage-mfa").await;
    wait_for(browser, "setup-totp").await.click().await.unwrap();
    let shown = wait_for(browser, "totp-secret").await.text().await.unwrap();
    assert!(
        browser.source().await.unwrap().contains("<svg"),
        "a QR code"
    );
    assert_console_clean(browser, "the enrolment page").await;
    let secret = TotpSecret::from_base32(&shown).expect("the secret as text");
    fill(browser, "code", &secret.code_at(now_secs(app))).await;
    click(browser, "confirm-totp").await;
    let list = wait_for(browser, "recovery-codes").await;
    let mut codes = Vec::new();
    for item in list.find_all(Locator::Css("li code")).await.unwrap() {
        codes.push(item.text().await.unwrap());
    }
    assert_eq!(codes.len(), 10);
    assert_console_clean(browser, "the recovery codes").await;
    click(browser, "continue").await;
    (secret, codes)
}

/// Signs out (a fresh start for the browser), then in with the password, up to the code page.
async fn password_then_code_page(browser: &Client, app: &TestApp) {
    browser.delete_all_cookies().await.unwrap();
    browser.goto(&app.url("/account")).await.unwrap();
    wait_for(browser, "email").await;
    submit_login(browser, PASSWORD_OF_USER).await;
    wait_for(browser, "verify").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_sets_up_an_authenticator_and_signs_in_with_it_in_a_real_browser() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let driver = ChromeDriver::start();
    let browser = driver.browser().await;
    browser.goto(&app.url("/account")).await.unwrap();
    wait_for(&browser, "email").await;
    submit_login(&browser, PASSWORD_OF_USER).await;
    wait_for(&browser, "manage-mfa").await;
    let (secret, codes) = enrol(&browser, &app).await;

    password_then_code_page(&browser, &app).await;
    assert_console_clean(&browser, "the code page").await;
    app.advance_clock(Duration::from_secs(30));
    fill(&browser, "code", &secret.code_at(now_secs(&app))).await;
    click(&browser, "verify").await;
    wait_for(&browser, "save-profile").await;

    password_then_code_page(&browser, &app).await;
    click(&browser, "use-recovery").await;
    wait_for(&browser, "use-code").await;
    assert_console_clean(&browser, "the recovery code page").await;
    fill(&browser, "code", &codes[0]).await;
    click(&browser, "verify").await;
    wait_for(&browser, "save-profile").await;
    assert_console_clean(&browser, "the account page after a recovery code").await;
    assert_security_headers(&app, "/account/mfa").await;
    assert_security_headers(&app, "/login/code?challenge=x").await;
    browser.close().await.ok();
}
