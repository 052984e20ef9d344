//! Tokens signed with each client's algorithm, on both backends: the JWKS and discovery
//! list RS256, ES256 and EdDSA (RS256 first); `demo-es256` and `demo-eddsa` get id_tokens
//! the `openidconnect` crate verifies with those algorithms, and access tokens that pass
//! introspection and userinfo; a client registered for signed userinfo gets
//! `application/jwt`; a server without a curve refuses clients that ask for it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, TokenResponse,
};
use serde_json::{Value, json};

use crate::admin_api::{admin_token, call};
use crate::backend_tests;
use crate::flow::{Choice, PASSWORD_OF_USER, REDIRECT, USER_EMAIL, drive, query};
use crate::helpers::{Backend, TestApp, http_client};

backend_tests!(
    the_jwks_and_discovery_list_every_algorithm_rs256_first,
    curve_clients_get_tokens_a_real_rp_verifies,
    signed_userinfo_comes_as_a_jwt,
    a_server_without_a_curve_refuses_clients_that_ask_for_it,
);

fn header_alg(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    header["alg"].as_str().unwrap().to_owned()
}

async fn get_json(app: &TestApp, path: &str) -> Value {
    reqwest::get(app.url(path))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn the_jwks_and_discovery_list_every_algorithm_rs256_first(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let jwks = get_json(&app, "/jwks").await;
    let keys: Vec<(String, String, String)> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            assert_eq!(k["use"], "sig");
            let field = |name: &str| k[name].as_str().unwrap().to_owned();
            (field("kty"), field("alg"), field("kid"))
        })
        .collect();
    let kinds: Vec<(&str, &str)> = keys
        .iter()
        .map(|(kty, alg, _)| (kty.as_str(), alg.as_str()))
        .collect();
    assert_eq!(kinds, [("RSA", "RS256"), ("EC", "ES256"), ("OKP", "EdDSA")]);
    assert_eq!(jwks["keys"][2]["crv"], "Ed25519");
    assert_eq!(jwks["keys"][1]["crv"], "P-256");
    let discovery = get_json(&app, "/.well-known/openid-configuration").await;
    let algs = json!(["RS256", "ES256", "EdDSA"]);
    assert_eq!(discovery["id_token_signing_alg_values_supported"], algs);
    assert_eq!(discovery["userinfo_signing_alg_values_supported"], algs);

    // A restart keeps the same keys.
    let again = TestApp::spawn_on(app.isolation.clone(), |_| {}).await;
    assert_eq!(get_json(&again, "/jwks").await, jwks);
}

/// The code flow as `client` with the `openidconnect` crate, accepting only `alg`.
async fn code_flow(
    app: &TestApp,
    (client_id, secret): (&str, &str),
    alg: CoreJwsSigningAlgorithm,
) -> String {
    let http = http_client();
    let issuer = IssuerUrl::new(app.address.clone()).unwrap();
    let metadata = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.into()),
        Some(ClientSecret::new(secret.into())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge)
        .url();
    let browser = http_client();
    let back = drive(
        app,
        &browser,
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
    let id_token = tokens.id_token().expect("an id_token");
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs(vec![alg.clone()]);
    let claims = id_token
        .claims(&verifier, &nonce)
        .unwrap_or_else(|e| panic!("{alg:?} id_token refused: {e}"));
    // at_hash is checked against the access token with the algorithm's hash.
    let signing_alg = id_token.signing_alg().unwrap();
    let key = id_token.signing_key(&verifier).unwrap();
    let expected =
        openidconnect::AccessTokenHash::from_token(tokens.access_token(), signing_alg, key)
            .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected));
    tokens.access_token().secret().clone()
}

async fn curve_clients_get_tokens_a_real_rp_verifies(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cases = [
        (
            ("demo-es256", "demo-es256-secret"),
            CoreJwsSigningAlgorithm::EcdsaP256Sha256,
            "ES256",
        ),
        (
            ("demo-eddsa", "demo-eddsa-secret"),
            CoreJwsSigningAlgorithm::EdDsa,
            "EdDSA",
        ),
    ];
    for (client, alg, name) in cases {
        let access = code_flow(&app, client, alg).await;
        assert_eq!(header_alg(&access), name);
        let info = reqwest::Client::new()
            .get(app.url("/userinfo"))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap();
        assert_eq!(info.status(), 200, "{name} access token at userinfo");
        let machine: Value = reqwest::Client::new()
            .post(app.url("/token"))
            .basic_auth(client.0, Some(client.1))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let machine = machine["access_token"].as_str().unwrap();
        assert_eq!(header_alg(machine), name);
        let introspected: Value = reqwest::Client::new()
            .post(app.url("/introspect"))
            .basic_auth(client.0, Some(client.1))
            .form(&[("token", machine)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(introspected["active"], true, "{name}");
    }
}

async fn signed_userinfo_comes_as_a_jwt(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = admin_token(&app).await;
    let registration = json!({
        "client_name": "Signed", "redirect_uris": [REDIRECT],
        "userinfo_signed_response_alg": "ES256", "id_token_signed_response_alg": "EdDSA",
    });
    let created: Value = call(
        &app,
        reqwest::Method::POST,
        "/admin/api/v1/clients",
        Some(&admin),
        Some(registration),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(created["userinfo_signed_response_alg"], "ES256");
    assert_eq!(created["access_token_signed_response_alg"], "RS256");
    let id = created["client_id"].as_str().unwrap();
    let secret = created["client_secret"].as_str().unwrap();
    let access = code_flow(&app, (id, secret), CoreJwsSigningAlgorithm::EdDsa).await;
    let answer = reqwest::Client::new()
        .get(app.url("/userinfo"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.headers()["content-type"], "application/jwt");
    let jwt = answer.text().await.unwrap();
    assert_eq!(header_alg(&jwt), "ES256");
    let payload = jwt.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(claims["iss"], app.address.as_str());
    assert_eq!(claims["aud"], id);
    assert!(claims["sub"].is_string());
}

async fn a_server_without_a_curve_refuses_clients_that_ask_for_it(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.keys.algorithms = vec!["RS256".into()]).await;
    let jwks = get_json(&app, "/jwks").await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    let discovery = get_json(&app, "/.well-known/openid-configuration").await;
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    let admin = admin_token(&app).await;
    let curve = json!({
        "client_name": "Curve", "redirect_uris": [REDIRECT],
        "id_token_signed_response_alg": "ES256",
    });
    let refused = call(
        &app,
        reqwest::Method::POST,
        "/admin/api/v1/clients",
        Some(&admin),
        Some(curve),
    )
    .await;
    assert_eq!(refused.status(), 400);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(
        problem["errors"][0]["field"],
        "id_token_signed_response_alg"
    );
    let seeded = call(
        &app,
        reqwest::Method::GET,
        "/admin/api/v1/clients/demo-es256",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(
        seeded.status(),
        404,
        "no ES256 demo client without ES256 keys"
    );
}
