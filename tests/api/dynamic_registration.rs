//! Dynamic client registration (RFC 7591) and its management (RFC 7592) over HTTP, on both
//! backends: a client the `openidconnect` crate registers signs a user in with it; an
//! initial access token is required, spent and refused as configured; metadata that breaks
//! a rule gets the RFC's error; the registration access token reads, replaces and deletes.

use openidconnect::core::{
    CoreClient, CoreClientRegistrationRequest, CoreProviderMetadata, CoreResponseType,
};
use openidconnect::registration::EmptyAdditionalClientMetadata;
use openidconnect::{
    AuthorizationCode, ClientName, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge, RedirectUrl,
    ResponseTypes,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::cli::{gatehouse, json_of};
use crate::flow::{Choice, PASSWORD_OF_USER, REDIRECT, USER_EMAIL, drive, query};
use crate::helpers::{Backend, TestApp, http_client};

backend_tests!(
    a_client_registered_by_a_real_rp_signs_a_user_in,
    the_registration_access_token_reads_replaces_and_deletes,
    an_initial_access_token_is_required_and_spent,
    metadata_breaking_a_rule_gets_the_rfcs_error,
);

const REGISTER: &str = "/connect/register";

async fn open(backend: Backend) -> TestApp {
    use gatehouse::settings::RegistrationMode;
    TestApp::spawn_with(backend, |s| s.registration.mode = RegistrationMode::Open).await
}

async fn post(app: &TestApp, bearer: Option<&str>, body: &Value) -> reqwest::Response {
    let mut request = reqwest::Client::new().post(app.url(REGISTER)).json(body);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn error_of(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (status, body["error"].as_str().unwrap().to_owned())
}

async fn a_client_registered_by_a_real_rp_signs_a_user_in(backend: Backend) {
    let app = open(backend).await;
    let http = http_client();
    let issuer = IssuerUrl::new(app.address.clone()).unwrap();
    let metadata = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .unwrap();
    let endpoint = metadata.registration_endpoint().unwrap().clone();
    assert_eq!(endpoint.as_str(), app.url(REGISTER));

    let redirect = RedirectUrl::new(REDIRECT.into()).unwrap();
    let registered = CoreClientRegistrationRequest::new(
        vec![redirect.clone()],
        EmptyAdditionalClientMetadata {},
    )
    .set_client_name(Some(
        vec![(None, ClientName::new("Reports".into()))]
            .into_iter()
            .collect(),
    ))
    .set_response_types(Some(vec![ResponseTypes::new(vec![CoreResponseType::Code])]))
    .register_async(&endpoint, &http)
    .await
    .expect("the registration");
    let secret = registered.client_secret().cloned().expect("a secret");
    assert!(registered.registration_access_token().is_some());
    assert!(registered.client_id_issued_at().is_some());

    let client =
        CoreClient::from_provider_metadata(metadata, registered.client_id().clone(), Some(secret))
            .set_redirect_uri(redirect);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _, nonce) = client
        .authorize_url(
            openidconnect::core::CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(openidconnect::Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    let back = drive(
        &app,
        &app.http,
        url.as_str(),
        USER_EMAIL,
        PASSWORD_OF_USER,
        Choice::Allow,
    )
    .await;
    let code = AuthorizationCode::new(query(&back)["code"].clone());
    let tokens = client
        .exchange_code(code)
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("the code exchange");
    let id_token = openidconnect::TokenResponse::id_token(&tokens).expect("an id_token");
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("an id_token the RP verifies");
    let info: openidconnect::core::CoreUserInfoClaims = client
        .user_info(
            openidconnect::OAuth2TokenResponse::access_token(&tokens).clone(),
            Some(claims.subject().clone()),
        )
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.email().map(|e| e.as_str()), Some(USER_EMAIL));
}

async fn manage(
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new().request(method, uri);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.unwrap()
}

async fn the_registration_access_token_reads_replaces_and_deletes(backend: Backend) {
    let app = open(backend).await;
    let registered = post(&app, None, &json!({ "redirect_uris": [REDIRECT] })).await;
    assert_eq!(registered.status(), StatusCode::CREATED);
    assert_eq!(registered.headers()["cache-control"], "no-store");
    let registered: Value = registered.json().await.unwrap();
    let uri = registered["registration_client_uri"].as_str().unwrap();
    let id = registered["client_id"].as_str().unwrap();
    let first = registered["registration_access_token"].as_str().unwrap();
    assert_eq!(registered["scope"], "openid profile email");
    assert_eq!(registered["grant_types"], json!(["authorization_code"]));
    assert_eq!(
        registered["token_endpoint_auth_method"],
        "client_secret_basic"
    );

    let unauthorised = manage(Method::GET, uri, None, None).await;
    assert_eq!(unauthorised.status(), 401);
    assert!(unauthorised.headers().contains_key("www-authenticate"));
    let read = manage(Method::GET, uri, Some(first), None).await;
    assert_eq!(read.status(), 200);
    let read: Value = read.json().await.unwrap();
    assert_eq!(read["client_id"], id);
    let second = read["registration_access_token"].as_str().unwrap();
    assert_ne!(second, first, "each use answers with a new token");
    let stale = manage(Method::GET, uri, Some(first), None).await;
    assert_eq!(error_of(stale).await, (401, "invalid_token".to_owned()));

    let replaced = json!({
        "client_id": id, "client_name": "Renamed",
        "redirect_uris": [REDIRECT, "http://127.0.0.1:8081/other"],
        "grant_types": ["authorization_code", "refresh_token"],
    });
    let updated = manage(Method::PUT, uri, Some(second), Some(&replaced)).await;
    assert_eq!(updated.status(), 200);
    let updated: Value = updated.json().await.unwrap();
    assert_eq!(updated["client_name"], "Renamed");
    assert_eq!(updated["scope"], "openid profile email offline_access");
    let third = updated["registration_access_token"].as_str().unwrap();
    let wrong_id = json!({ "client_id": "someone-else", "redirect_uris": [REDIRECT] });
    let refused = manage(Method::PUT, uri, Some(third), Some(&wrong_id)).await;
    assert_eq!(
        error_of(refused).await,
        (400, "invalid_client_metadata".to_owned())
    );

    let other = post(&app, None, &json!({ "redirect_uris": [REDIRECT] })).await;
    let other: Value = other.json().await.unwrap();
    let foreign = other["registration_access_token"].as_str().unwrap();
    let crossed = manage(Method::DELETE, uri, Some(foreign), None).await;
    assert_eq!(
        crossed.status(),
        401,
        "one client's token manages only that client"
    );
    let deleted = manage(Method::DELETE, uri, Some(third), None).await;
    assert_eq!(deleted.status(), 204);
    let gone = manage(Method::GET, uri, Some(third), None).await;
    assert_eq!(gone.status(), 401);
}

async fn an_initial_access_token_is_required_and_spent(backend: Backend) {
    use gatehouse::settings::RegistrationMode;
    let app = TestApp::spawn_with(backend, |s| {
        s.registration.mode = RegistrationMode::InitialToken;
    })
    .await;
    let metadata = json!({ "redirect_uris": [REDIRECT], "client_name": "Shop" });
    let without = post(&app, None, &metadata).await;
    assert_eq!(without.status(), 401);
    assert_eq!(
        without.headers()["www-authenticate"],
        r#"Bearer realm="gatehouse""#
    );
    let forged = post(&app, Some("made-up"), &metadata).await;
    assert_eq!(error_of(forged).await, (401, "invalid_token".to_owned()));

    let issued = json_of(&gatehouse(
        &app,
        &[
            "registration-token",
            "create",
            "--uses",
            "1",
            "--output",
            "json",
        ],
    ));
    let once = issued["initial_access_token"].as_str().unwrap();
    let bad = json!({ "redirect_uris": ["http://shop.example/cb"] });
    let refused = post(&app, Some(once), &bad).await;
    assert_eq!(
        error_of(refused).await,
        (400, "invalid_redirect_uri".to_owned())
    );
    let registered = post(&app, Some(once), &metadata).await;
    assert_eq!(
        registered.status(),
        201,
        "a refused registration spends nothing"
    );
    let registered: Value = registered.json().await.unwrap();
    let again = post(&app, Some(once), &metadata).await;
    assert_eq!(error_of(again).await, (401, "invalid_token".to_owned()));

    let admin = crate::admin_api::admin_token(&app).await;
    let listed: Value = crate::admin_api::call(
        &app,
        Method::GET,
        &format!(
            "/admin/api/v1/clients/{}",
            registered["client_id"].as_str().unwrap()
        ),
        Some(&admin),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        listed["self_registered"], true,
        "an admin can tell it apart"
    );
    let many = crate::admin_api::call(
        &app,
        Method::POST,
        "/admin/api/v1/registration-tokens",
        Some(&admin),
        Some(json!({ "expires_in_secs": 60 })),
    )
    .await;
    assert_eq!(many.status(), 201);
    let many: Value = many.json().await.unwrap();
    let many = many["initial_access_token"].as_str().unwrap();
    for _ in 0..2 {
        assert_eq!(post(&app, Some(many), &metadata).await.status(), 201);
    }
    app.advance_clock(std::time::Duration::from_secs(61));
    let expired = post(&app, Some(many), &metadata).await;
    assert_eq!(error_of(expired).await, (401, "invalid_token".to_owned()));
}

async fn metadata_breaking_a_rule_gets_the_rfcs_error(backend: Backend) {
    let off = TestApp::spawn(backend).await;
    let discovery: Value = reqwest::get(off.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(discovery.get("registration_endpoint").is_none());
    let closed = post(&off, None, &json!({ "redirect_uris": [REDIRECT] })).await;
    assert_eq!(closed.status(), 404);

    let app = TestApp::spawn_with(backend, |s| {
        s.registration.mode = gatehouse::settings::RegistrationMode::Open;
        s.limits.registration_per_ip.limit = 7;
    })
    .await;
    let cases = [
        (
            json!({ "redirect_uris": ["http://app.example/cb"] }),
            "invalid_redirect_uri",
        ),
        (
            json!({ "redirect_uris": ["https://app.example/cb#x"] }),
            "invalid_redirect_uri",
        ),
        (
            json!({ "redirect_uris": [REDIRECT], "grant_types": ["password"] }),
            "invalid_client_metadata",
        ),
        (
            json!({ "redirect_uris": [REDIRECT], "response_types": ["token"] }),
            "invalid_client_metadata",
        ),
        (
            json!({ "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "private_key_jwt" }),
            "invalid_client_metadata",
        ),
        (json!(["not", "an", "object"]), "invalid_client_metadata"),
    ];
    for (metadata, error) in cases {
        let refused = post(&app, None, &metadata).await;
        assert_eq!(
            error_of(refused).await,
            (400, error.to_owned()),
            "{metadata}"
        );
    }
    let unknown_members = json!({ "redirect_uris": [REDIRECT], "logo_uri": "https://x/l.png" });
    assert_eq!(
        post(&app, None, &unknown_members).await.status(),
        201,
        "ignored (§2)"
    );
    let limited = post(&app, None, &unknown_members).await;
    assert_eq!(limited.status(), 429, "past limits.registration_per_ip");
}
