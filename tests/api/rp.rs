//! A real relying party (the `openidconnect` crate) against the spawned server: discovery,
//! authorize with PKCE and nonce, code exchange, id_token checks, userinfo, refresh.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};

use crate::backend_tests;
use crate::flow::{Choice, PASSWORD_OF_USER, USER_EMAIL, drive, query};
use crate::helpers::{Backend, TestApp, http_client};

const REDIRECT: &str = "http://127.0.0.1:8081/callback";

backend_tests!(
    public_spa_with_pkce,
    confidential_with_client_secret_basic,
    confidential_with_client_secret_post
);

async fn public_spa_with_pkce(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    full_flow(&app, "demo-spa", None).await;
}

async fn confidential_with_client_secret_basic(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    full_flow(&app, "demo-web", Some(AuthType::BasicAuth)).await;
}

async fn confidential_with_client_secret_post(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    full_flow(&app, "demo-web", Some(AuthType::RequestBody)).await;
}

async fn full_flow(app: &TestApp, client_id: &str, auth: Option<AuthType>) {
    let http = http_client();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.address.clone()).unwrap(), &http)
            .await
            .expect("discovery");
    let secret = auth
        .as_ref()
        .map(|_| ClientSecret::new("demo-web-secret".into()));
    let mut client =
        CoreClient::from_provider_metadata(metadata, ClientId::new(client_id.into()), secret)
            .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
    if let Some(auth) = auth {
        client = client.set_auth_type(auth);
    }
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("roles".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();

    let back = drive(
        app,
        &app.http,
        url.as_str(),
        USER_EMAIL,
        PASSWORD_OF_USER,
        Choice::Allow,
    )
    .await;

    assert!(back.starts_with(REDIRECT), "{back}");
    let params = query(&back);
    assert_eq!(
        params["state"],
        *state.secret(),
        "state comes back unchanged"
    );
    assert_eq!(params["iss"], app.address, "RFC 9207 iss");
    let tokens = client
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");

    // id_token: signature against the JWKS, iss, aud, exp, nonce, at_hash.
    let id_token = tokens.id_token().expect("an id_token for scope openid");
    let id_verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&id_verifier, &nonce)
        .expect("a valid id_token");
    let expected_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&id_verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected_hash));
    assert!(claims.auth_time().is_some());
    let expires = tokens.expires_in().unwrap().as_secs();
    assert!((590..=600).contains(&expires), "{expires}");

    // userinfo with the access token.
    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.subject(), claims.subject());
    assert_eq!(info.email().map(|e| e.as_str()), Some(USER_EMAIL));

    // Refresh rotates the refresh token.
    let refresh = tokens
        .refresh_token()
        .expect("offline_access gives a refresh token");
    let refreshed = client
        .exchange_refresh_token(refresh)
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh");
    let rotated = refreshed.refresh_token().expect("a rotated refresh token");
    assert_ne!(rotated.secret(), refresh.secret());
    assert_ne!(
        refreshed.access_token().secret(),
        tokens.access_token().secret()
    );
}
