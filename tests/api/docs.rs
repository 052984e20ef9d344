//! The admin API's interactive docs at `/docs`: served by Gatehouse itself from files compiled
//! in, pointed at the admin API's OpenAPI document, under a policy of their own that names no
//! other origin, while every other page keeps the site-wide one.

use crate::helpers::{Backend, TestApp};

/// What a page's CSP names besides keywords (`'self'`, `'none'`) and `data:`: other origins.
fn origins_in(csp: &str) -> Vec<&str> {
    csp.split(';')
        .flat_map(|directive| directive.split_whitespace().skip(1))
        .filter(|source| !source.starts_with('\'') && *source != "data:")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docs_page_and_its_files_come_from_our_origin() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let bare = app.get("/docs").await;
    assert!(bare.status().is_redirection(), "{}", bare.status());
    assert_eq!(bare.headers()["location"], "/docs/");
    let page = reqwest::get(app.url("/docs")).await.unwrap();
    assert_eq!(page.url().path(), "/docs/", "the redirect is followed");
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<div id="swagger-ui">"#), "{html}");
    assert!(!html.contains("<script>"), "nothing inline runs: {html}");

    assert_eq!(origins_in(&csp), Vec::<&str>::new(), "{csp}");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
    ] {
        assert!(csp.contains(directive), "{directive} in {csp}");
    }
    assert!(!csp.contains("unsafe-eval"), "{csp}");
    assert!(!csp.contains("script-src 'self' 'unsafe-inline'"), "{csp}");

    for (file, kind) in [
        ("swagger-ui-bundle.js", "javascript"),
        ("swagger-initializer.js", "javascript"),
        ("swagger-ui.css", "text/css"),
    ] {
        let served = app.get(&format!("/docs/{file}")).await;
        assert_eq!(served.status(), 200, "{file}");
        let content_type = served.headers()["content-type"].to_str().unwrap();
        assert!(content_type.contains(kind), "{file}: {content_type}");
    }
    let initializer = app
        .get("/docs/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        initializer.contains(r#""/admin/api/v1/openapi.json""#),
        "{initializer}"
    );
    assert!(
        initializer.contains(r#""validatorUrl": "none""#),
        "{initializer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_pages_keep_the_site_wide_policy() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let docs = app.get("/docs/").await;
    let docs = docs.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    for path in [
        "/docs",
        "/healthz",
        "/register",
        "/admin/api/v1/openapi.json",
    ] {
        let answer = app.get(path).await;
        let csp = answer.headers()["content-security-policy"]
            .to_str()
            .unwrap();
        assert_ne!(csp, docs, "{path}");
        assert!(
            !csp.contains("data:") && !csp.contains("connect-src"),
            "{path}: {csp}"
        );
    }
}
