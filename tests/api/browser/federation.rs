//! In Chromium: the provider's button on the sign-in page, the upstream Gatehouse's own
//! pages (on the same host, its cookies named apart), and back at the relying party.

use std::time::Duration;

use fantoccini::Locator;
use gatehouse::settings::LinkPolicy;

use super::{ChromeDriver, assert_console_clean, callback_listener, submit_login, wait_for};
use crate::flow::{authorize_url, pkce_pair};
use crate::helpers::Backend;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provider_button_leads_upstream_and_back_to_the_client() {
    let (upstream, downstream) =
        crate::federation::pair(Backend::Sqlite, LinkPolicy::VerifiedEmail).await;
    let rp_port = callback_listener().await;
    let redirect = format!("http://127.0.0.1:{rp_port}/callback");
    let mut client = gatehouse::demo::spa_client();
    client.id = "browser-spa".into();
    client.name = "Browser Test App".into();
    client.redirect_uris = vec![redirect.clone()];
    downstream.with_client(&client).await;
    let driver = ChromeDriver::start();
    let browser = driver.browser().await;
    let (_, challenge) = pkce_pair();
    let url = authorize_url(
        &downstream,
        &[
            ("response_type", "code"),
            ("client_id", "browser-spa"),
            ("redirect_uri", &redirect),
            ("scope", "openid email"),
            ("state", "fed-state"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );

    browser.goto(&url).await.unwrap();
    let button = wait_for(&browser, "idp-upstream").await;
    assert_eq!(button.text().await.unwrap(), "Sign in with Upstream Co");
    assert_console_clean(&browser, "the sign-in page with a provider").await;
    button.click().await.unwrap();

    // The upstream's own sign-in and consent pages (both servers' pages use the same ids, so
    // each step first waits for the browser to be on the next server).
    wait_until_at(&browser, &upstream.address).await;
    wait_for(&browser, "password").await;
    submit_login(&browser, crate::flow::PASSWORD_OF_USER).await;
    wait_until_at(&browser, &format!("{}/consent", upstream.address)).await;
    wait_for(&browser, "allow").await.click().await.unwrap();

    // Back here: our consent for the relying party, then the relying party.
    wait_until_at(&browser, &format!("{}/consent", downstream.address)).await;
    let allow = wait_for(&browser, "allow").await;
    assert!(browser.source().await.unwrap().contains("Browser Test App"));
    allow.click().await.unwrap();
    let landed = wait_until_at(&browser, &redirect).await;
    assert_console_clean(&browser, "the pages of the round trip").await;
    let _ = browser.find(Locator::Css("body")).await;
    browser.close().await.ok();
    assert!(landed.as_str().starts_with(&redirect), "landed on {landed}");
    let params: std::collections::HashMap<_, _> = landed.query_pairs().into_owned().collect();
    assert!(params.get("code").is_some_and(|c| c.len() >= 43));
    assert_eq!(params["state"], "fed-state");
    assert_eq!(params["iss"], downstream.address);
}

/// Waits (up to 10 s) until the browser's URL starts with `prefix`; the URL it ended on.
async fn wait_until_at(browser: &fantoccini::Client, prefix: &str) -> url::Url {
    let mut at = browser.current_url().await.unwrap();
    for _ in 0..100 {
        if at.as_str().starts_with(prefix) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        at = browser.current_url().await.unwrap();
    }
    at
}
