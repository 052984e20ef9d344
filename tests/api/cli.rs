//! The operator's commands, as the real binary runs them beside a running server: a client
//! registered with `gatehouse client create … --output json` works at once with a real
//! relying party (code flow, refresh, client credentials, introspection; revocation over
//! plain HTTP, which the library sends to https only); bad
//! arguments are named and exit with their own codes.

use std::process::{Command, Output};

use openidconnect::core::{CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IntrospectionUrl, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenIntrospectionResponse,
};
use serde_json::Value;

use crate::backend_tests;
use crate::flow::{Choice, PASSWORD_OF_USER, REDIRECT, USER_EMAIL, drive, query};
use crate::helpers::{Backend, TestApp, http_client};

backend_tests!(
    a_client_created_on_the_command_line_works_at_once_with_a_real_rp,
    bad_arguments_are_named_and_exit_with_their_own_codes,
);

/// Runs `gatehouse <args>` on `app`'s database, as an operator in the server's directory.
pub fn gatehouse(app: &TestApp, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    command
        .args(args)
        .env("GATEHOUSE__DATABASE__URL", &app.isolation.database_url)
        .env("GATEHOUSE__LOG__FILTER", "warn");
    if app.isolation.backend == crate::helpers::Backend::Postgres {
        let key = crate::helpers::test_encryption_key();
        command.env("GATEHOUSE__KEYS__ENCRYPTION_KEY", key);
    }
    command.output().unwrap()
}

pub fn json_of(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

async fn a_client_created_on_the_command_line_works_at_once_with_a_real_rp(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let created = json_of(&gatehouse(
        &app,
        &[
            "client",
            "create",
            "--name",
            "Reports",
            "--redirect-uri",
            REDIRECT,
            "--grant-types",
            "authorization_code,refresh_token,client_credentials",
            "--scopes",
            "openid profile offline_access",
            "--output",
            "json",
        ],
    ));
    let id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 43, "256 bits, base64url: {secret}");
    assert_eq!(created["token_endpoint_auth_method"], "client_secret_basic");

    let http = http_client();
    let issuer = IssuerUrl::new(app.address.clone()).unwrap();
    let metadata = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(id.clone()),
        Some(ClientSecret::new(secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap())
    .set_introspection_url(IntrospectionUrl::new(app.url("/introspect")).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _, _) = client
        .authorize_url(
            openidconnect::core::CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("offline_access".into()))
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
    let refresh = tokens.refresh_token().expect("a refresh token");
    let refreshed = client
        .exchange_refresh_token(refresh)
        .unwrap()
        .request_async(&http)
        .await
        .expect("the refresh");
    let machine = client
        .exchange_client_credentials()
        .unwrap()
        .add_scope(Scope::new("profile".into()))
        .request_async(&http)
        .await
        .expect("client credentials");

    let active = |token| {
        let client = &client;
        let http = &http;
        async move {
            client
                .introspect(token)
                .request_async(http)
                .await
                .unwrap()
                .active()
        }
    };
    assert!(active(refreshed.access_token()).await);
    assert!(active(machine.access_token()).await);
    // openidconnect sends revocation requests to https endpoints only (RFC 7009 §2.1), and
    // the test server speaks http: the same request by hand.
    let rotated = refreshed.refresh_token().unwrap().clone();
    let revoked = reqwest::Client::new()
        .post(app.url("/revoke"))
        .basic_auth(&id, Some(&secret))
        .form(&[
            ("token", rotated.secret().as_str()),
            ("token_type_hint", "refresh_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let after = client
        .exchange_refresh_token(&rotated)
        .unwrap()
        .request_async(&http)
        .await;
    assert!(after.is_err(), "a revoked refresh token is refused");

    let listed = gatehouse(&app, &["client", "list"]);
    let table = String::from_utf8_lossy(&listed.stdout);
    assert!(table.contains(&id) && table.contains("Reports"), "{table}");

    assert!(gatehouse(&app, &["client", "delete", &id]).status.success());
    app.advance_clock(gatehouse::clients::cache::FRESH_FOR);
    let gone = client
        .exchange_client_credentials()
        .unwrap()
        .request_async(&http)
        .await;
    assert!(gone.is_err(), "a deleted client is refused within a second");
}

async fn bad_arguments_are_named_and_exit_with_their_own_codes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let no_uri = gatehouse(&app, &["client", "create", "--name", "Web"]);
    assert_eq!(no_uri.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&no_uri.stderr).contains("redirect_uris"));
    let plain_http = gatehouse(
        &app,
        &[
            "client",
            "create",
            "--name",
            "Web",
            "--redirect-uri",
            "http://app.example/cb",
        ],
    );
    assert_eq!(plain_http.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&plain_http.stderr).contains("https"));
    let grant = gatehouse(
        &app,
        &[
            "client",
            "create",
            "--name",
            "M",
            "--grant-types",
            "password",
        ],
    );
    assert!(String::from_utf8_lossy(&grant.stderr).contains("--grant-types"));
    assert_eq!(
        gatehouse(&app, &["client", "show", "nope"]).status.code(),
        Some(4)
    );
    assert_eq!(
        gatehouse(&app, &["client", "frobnicate"]).status.code(),
        Some(2)
    );

    let public = json_of(&gatehouse(
        &app,
        &[
            "client",
            "create",
            "--name",
            "SPA",
            "--public",
            "--redirect-uri",
            REDIRECT,
            "--output",
            "json",
        ],
    ));
    assert!(
        public.get("client_secret").is_none(),
        "a public client has no secret"
    );
    let id = public["client_id"].as_str().unwrap();
    assert_eq!(
        gatehouse(&app, &["client", "rotate-secret", id])
            .status
            .code(),
        Some(3)
    );
    assert!(gatehouse(&app, &["client", "delete", id]).status.success());
    assert_eq!(
        gatehouse(&app, &["client", "show", id]).status.code(),
        Some(4)
    );
}
