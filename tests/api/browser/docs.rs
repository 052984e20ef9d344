//! The admin API's docs page in a real browser: Swagger UI draws every operation from the
//! document and opens one, with nothing refused by the page's policy (the console is clean).

use fantoccini::Client;

use super::*;

/// Waits for the first element `css` selects.
async fn wait_for_css(browser: &Client, css: &str) -> fantoccini::elements::Element {
    let waited = browser.wait().at_most(Duration::from_secs(20));
    match waited.for_element(Locator::Css(css)).await {
        Ok(element) => element,
        Err(e) => panic!("{css} never appeared ({e})"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docs_page_draws_the_admin_api_under_its_policy() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let driver = ChromeDriver::start();
    let browser = driver.browser().await;

    browser.goto(&app.url("/docs")).await.unwrap();
    wait_for_css(&browser, "#operations-audit-list_audit_events").await;
    let page = browser.source().await.unwrap();
    assert!(page.contains("Gatehouse admin API"), "the document's title");
    assert!(
        page.contains("/admin/api/v1/keys"),
        "every operation is drawn"
    );
    wait_for_css(&browser, ".authorize").await;
    // Opened: its parameters, and a body's example drawn by the syntax highlighter.
    for (operation, part) in [
        ("audit-list_audit_events", ".parameters"),
        ("clients-create_client", ".body-param__example"),
    ] {
        let summary = format!("#operations-{operation} .opblock-summary-control");
        let summary = browser.find(Locator::Css(&summary)).await.unwrap();
        summary.click().await.unwrap();
        wait_for_css(&browser, &format!("#operations-{operation} {part}")).await;
    }
    assert_console_clean(&browser, "the docs page").await;
    browser.close().await.unwrap();
}
