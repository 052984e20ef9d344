//! The browser session across requests: single sign-on, remembered consent, and the
//! `prompt`, `max_age` and `response_mode=form_post` parameters.

use crate::backend_tests;
use crate::flow::*;
use crate::helpers::{Backend, TestApp};

backend_tests!(
    second_request_reuses_session_and_consent,
    prompt_login_and_consent_force_the_pages,
    form_post_answers_with_an_auto_submitting_form
);

async fn second_request_reuses_session_and_consent(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    obtain_code(&app, SPA, "openid profile").await;

    let (_, challenge) = pkce_pair();
    let (status, location, _) = navigate(
        &app,
        &authorize_url(&app, &standard_params(SPA, &challenge, "openid")),
    )
    .await;

    assert_eq!(status, 302, "no login or consent page the second time");
    assert!(query(&location.unwrap()).contains_key("code"));

    let mut params = standard_params(SPA, &challenge, "openid");
    params.push(("prompt", "none"));
    let (status, location, _) = navigate(&app, &authorize_url(&app, &params)).await;
    assert_eq!(status, 302);
    assert!(
        query(&location.unwrap()).contains_key("code"),
        "prompt=none succeeds with a session"
    );

    let mut params = standard_params(SPA, &challenge, "openid email");
    params.push(("prompt", "none"));
    let (_, location, _) = navigate(&app, &authorize_url(&app, &params)).await;
    assert_eq!(
        query(&location.unwrap())["error"],
        "consent_required",
        "email was never consented"
    );
}

async fn prompt_login_and_consent_force_the_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    obtain_code(&app, SPA, "openid").await;
    let (_, challenge) = pkce_pair();

    for (prompt, page) in [("login", "/login?"), ("consent", "/consent?")] {
        let mut params = standard_params(SPA, &challenge, "openid");
        params.push(("prompt", prompt));
        let (status, location, _) = navigate(&app, &authorize_url(&app, &params)).await;
        assert_eq!(status, 303);
        assert!(location.unwrap().starts_with(page), "prompt={prompt}");
    }

    let mut params = standard_params(SPA, &challenge, "openid");
    params.push(("max_age", "0"));
    app.advance_clock(std::time::Duration::from_millis(1100));
    let (_, location, _) = navigate(&app, &authorize_url(&app, &params)).await;
    assert!(
        location.unwrap().starts_with("/login?"),
        "max_age=0 asks for the password again"
    );
}

async fn form_post_answers_with_an_auto_submitting_form(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    obtain_code(&app, SPA, "openid").await;
    let (_, challenge) = pkce_pair();
    let mut params = standard_params(SPA, &challenge, "openid");
    params.push(("response_mode", "form_post"));

    let (status, _, body) = navigate(&app, &authorize_url(&app, &params)).await;

    assert_eq!(status, 200);
    assert!(body.contains(&format!(r#"action="{REDIRECT}""#)));
    assert!(hidden_field(&body, "code").is_some());
    assert_eq!(hidden_field(&body, "state").as_deref(), Some("st-1"));
    assert!(hidden_field(&body, "iss").is_some());
}
