//! What goes wrong, and how the spec says to answer it: exact `error` codes and transports.

use crate::backend_tests;
use crate::flow::*;
use crate::helpers::{Backend, TestApp};

backend_tests!(
    wrong_or_missing_code_verifier_is_invalid_grant,
    plain_pkce_refused_and_missing_pkce_on_public_client,
    reused_code_fails_and_revokes_first_tokens,
    expired_code_is_invalid_grant,
    redirect_uri_mismatch_at_authorize_and_token,
    unknown_client_and_wrong_secret,
    refresh_reuse_after_grace_revokes_family,
    prompt_none_without_session_is_login_required,
    consent_denied_is_access_denied,
    unsupported_response_and_grant_types,
    state_round_trips_unchanged,
    refresh_may_narrow_scope_but_the_family_keeps_it,
);

async fn refresh_may_narrow_scope_but_the_family_keeps_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (code, verifier) = obtain_code(&app, SPA, "openid email offline_access").await;
    let first: serde_json::Value = exchange_code(&app, SPA, &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", first["refresh_token"].as_str().unwrap()),
        ("scope", "openid"),
    ];
    let narrowed: serde_json::Value = token_request(&app, SPA, &form).await.json().await.unwrap();
    assert_eq!(narrowed["scope"], "openid");

    let again: serde_json::Value = refresh(&app, SPA, narrowed["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        again["scope"], "email offline_access openid",
        "RFC 6749 §6: the refresh token's scope is unchanged"
    );

    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", again["refresh_token"].as_str().unwrap()),
        ("scope", "openid roles"),
    ];
    assert_eq!(
        json_error(token_request(&app, SPA, &form).await).await,
        (400, "invalid_scope".into())
    );
}

async fn wrong_or_missing_code_verifier_is_invalid_grant(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (code, _) = obtain_code(&app, SPA, "openid").await;
    let (wrong, _) = pkce_pair();
    assert_eq!(
        json_error(exchange_code(&app, SPA, &code, &wrong).await).await,
        (400, "invalid_grant".into())
    );

    let (code, _) = obtain_code(&app, SPA, "openid").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    assert_eq!(
        json_error(token_request(&app, SPA, &form).await).await,
        (400, "invalid_grant".into())
    );
}

async fn plain_pkce_refused_and_missing_pkce_on_public_client(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (verifier, _) = pkce_pair();
    let mut params = standard_params(SPA, &verifier, "openid");
    params.retain(|(k, _)| *k != "code_challenge_method");
    params.push(("code_challenge_method", "plain"));
    let (status, location, _) = navigate(&app, &authorize_url(&app, &params)).await;
    assert_eq!(status, 302);
    let q = query(&location.unwrap());
    assert_eq!(q["error"], "invalid_request");
    assert_eq!(q["state"], "st-1");
    assert_eq!(q["iss"], app.address);

    let mut params = standard_params(SPA, "", "openid");
    params.retain(|(k, _)| !k.starts_with("code_challenge"));
    let (status, location, _) = navigate(&app, &authorize_url(&app, &params)).await;
    assert_eq!(status, 302);
    assert_eq!(query(&location.unwrap())["error"], "invalid_request");
}

async fn reused_code_fails_and_revokes_first_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (code, verifier) = obtain_code(&app, SPA, "openid offline_access").await;
    let first: serde_json::Value = exchange_code(&app, SPA, &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let access = first["access_token"].as_str().unwrap();
    let refresh_token = first["refresh_token"].as_str().unwrap();
    assert_eq!(userinfo_status(&app, access).await, 200);

    let again = exchange_code(&app, SPA, &code, &verifier).await;

    assert_eq!(json_error(again).await, (400, "invalid_grant".into()));
    assert_eq!(
        userinfo_status(&app, access).await,
        401,
        "the first access token is revoked"
    );
    assert_eq!(
        json_error(refresh(&app, SPA, refresh_token).await).await,
        (400, "invalid_grant".into())
    );
}

async fn expired_code_is_invalid_grant(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.tokens.authorization_code_ttl_secs = 1).await;
    let (code, verifier) = obtain_code(&app, SPA, "openid").await;
    app.advance_clock(std::time::Duration::from_millis(1500));
    assert_eq!(
        json_error(exchange_code(&app, SPA, &code, &verifier).await).await,
        (400, "invalid_grant".into())
    );
}

async fn redirect_uri_mismatch_at_authorize_and_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, challenge) = pkce_pair();
    let mut params = standard_params(SPA, &challenge, "openid");
    params.retain(|(k, _)| *k != "redirect_uri");
    params.push(("redirect_uri", "http://127.0.0.1:8081/callback/../evil"));
    let (status, location, body) = navigate(&app, &authorize_url(&app, &params)).await;
    assert_eq!(status, 400, "an error page, never a redirect");
    assert!(location.is_none());
    assert!(body.contains("redirect_uri"));

    let (code, verifier) = obtain_code(&app, SPA, "openid").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "http://localhost:8081/callback"),
        ("code_verifier", verifier.as_str()),
    ];
    assert_eq!(
        json_error(token_request(&app, SPA, &form).await).await,
        (400, "invalid_grant".into())
    );
}

async fn unknown_client_and_wrong_secret(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, challenge) = pkce_pair();
    let (status, location, _) = navigate(
        &app,
        &authorize_url(&app, &standard_params("nobody", &challenge, "openid")),
    )
    .await;
    assert_eq!(status, 400);
    assert!(location.is_none());

    let form = [
        ("grant_type", "authorization_code"),
        ("code", "x"),
        ("client_id", "nobody"),
    ];
    let response = reqwest::Client::new()
        .post(app.url("/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(json_error(response).await, (401, "invalid_client".into()));

    let response = reqwest::Client::new()
        .post(app.url("/token"))
        .basic_auth(WEB, Some("wrong-secret"))
        .form(&[("grant_type", "authorization_code"), ("code", "x")])
        .send()
        .await
        .unwrap();
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert_eq!(json_error(response).await, (401, "invalid_client".into()));
}

async fn refresh_reuse_after_grace_revokes_family(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.tokens.refresh_retry_grace_secs = 1).await;
    let (code, verifier) = obtain_code(&app, WEB, "openid offline_access").await;
    let first: serde_json::Value = exchange_code(&app, WEB, &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let rt1 = first["refresh_token"].as_str().unwrap().to_owned();
    let second: serde_json::Value = refresh(&app, WEB, &rt1).await.json().await.unwrap();
    let rt2 = second["refresh_token"].as_str().unwrap().to_owned();

    app.advance_clock(std::time::Duration::from_millis(1300));
    assert_eq!(
        json_error(refresh(&app, WEB, &rt1).await).await,
        (400, "invalid_grant".into())
    );
    assert_eq!(
        json_error(refresh(&app, WEB, &rt2).await).await,
        (400, "invalid_grant".into()),
        "the whole family is revoked"
    );
}

async fn prompt_none_without_session_is_login_required(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, challenge) = pkce_pair();
    let mut params = standard_params(SPA, &challenge, "openid");
    params.push(("prompt", "none"));
    let (status, location, _) = navigate(&app, &authorize_url(&app, &params)).await;
    assert_eq!(status, 302);
    let q = query(&location.unwrap());
    assert_eq!(q["error"], "login_required");
    assert_eq!(q["state"], "st-1");
}

async fn consent_denied_is_access_denied(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, challenge) = pkce_pair();
    let url = authorize_url(&app, &standard_params(SPA, &challenge, "openid profile"));
    let back = drive(
        &app,
        &app.http,
        &url,
        USER_EMAIL,
        PASSWORD_OF_USER,
        Choice::Deny,
    )
    .await;
    let q = query(&back);
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "st-1");
    assert_eq!(q["iss"], app.address);
}

async fn unsupported_response_and_grant_types(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, challenge) = pkce_pair();
    let mut params = standard_params(SPA, &challenge, "openid");
    params.retain(|(k, _)| *k != "response_type");
    params.push(("response_type", "token"));
    let (status, location, _) = navigate(&app, &authorize_url(&app, &params)).await;
    assert_eq!(status, 302);
    assert_eq!(
        query(&location.unwrap())["error"],
        "unsupported_response_type"
    );

    let response = token_request(
        &app,
        WEB,
        &[
            ("grant_type", "password"),
            ("username", "u"),
            ("password", "p"),
        ],
    )
    .await;
    assert_eq!(
        json_error(response).await,
        (400, "unsupported_grant_type".into())
    );
}

async fn state_round_trips_unchanged(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, challenge) = pkce_pair();
    let tricky = "a b&c=d/é?#%20<x>";
    let mut params = standard_params(SPA, &challenge, "openid");
    params.retain(|(k, _)| *k != "state");
    params.push(("state", tricky));
    let back = drive(
        &app,
        &app.http,
        &authorize_url(&app, &params),
        USER_EMAIL,
        PASSWORD_OF_USER,
        Choice::Allow,
    )
    .await;
    assert_eq!(query(&back)["state"], tricky);
}
