//! An `oauth2`-kind provider shaped like GitHub: the code at `/login/oauth/access_token`
//! (client credentials in the body, PKCE verifier checked), the profile at `/user` with a
//! numeric `id`, and no verified-email claim.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{HttpRequest, HttpResponse, web};
use gatehouse::settings::{ClaimMap, LinkPolicy, ProviderKind, ProviderSettings};
use secrecy::SecretString;
use serde_json::json;

use super::upstream_stub::{approve, serve};
use super::{Stop, authorize, browse, identities, tokens_for, userinfo};
use crate::backend_tests;
use crate::flow::REDIRECT;
use crate::helpers::{Backend, TestApp};

backend_tests!(a_github_shaped_provider_signs_a_new_user_in);

const TOKEN: &str = "gho_test_access_token";

#[derive(Clone, Default)]
struct GitHub {
    challenge: Arc<Mutex<String>>,
}

fn configure(github: GitHub) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(github.clone()))
            .route("/login/oauth/authorize", web::get().to(authorize_endpoint))
            .route("/login/oauth/access_token", web::post().to(access_token))
            .route("/user", web::get().to(user));
    }
}

async fn authorize_endpoint(
    query: web::Query<HashMap<String, String>>,
    github: web::Data<GitHub>,
) -> HttpResponse {
    assert_eq!(query["client_id"], "gh-client");
    assert_eq!(query["code_challenge_method"], "S256");
    *github.challenge.lock().unwrap() = query["code_challenge"].clone();
    approve(&query, "gh-code")
}

async fn access_token(
    form: web::Form<HashMap<String, String>>,
    github: web::Data<GitHub>,
) -> HttpResponse {
    use base64::Engine;
    use sha2::Digest;
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let right = form.get("client_secret").map(String::as_str) == Some("gh-secret")
        && form.get("code").map(String::as_str) == Some("gh-code")
        && challenge == *github.challenge.lock().unwrap();
    if !right {
        return HttpResponse::Ok().json(json!({"error": "bad_verification_code"}));
    }
    HttpResponse::Ok()
        .json(json!({"access_token": TOKEN, "token_type": "bearer", "scope": "read:user"}))
}

async fn user(request: HttpRequest) -> HttpResponse {
    let authorization = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    if authorization != Some(&format!("Bearer {TOKEN}")) {
        return HttpResponse::Unauthorized().finish();
    }
    HttpResponse::Ok().json(json!({
        "id": 583231, "login": "octocat", "name": "The Octocat", "email": "octocat@example.org"
    }))
}

async fn a_github_shaped_provider_signs_a_new_user_in(backend: Backend) {
    let (base, server) = serve(configure(GitHub::default()));
    let endpoint = |path: &str| Some(url::Url::parse(&format!("{base}{path}")).unwrap());
    let github = ProviderSettings {
        id: "github".into(),
        name: "GitHub".into(),
        kind: ProviderKind::Oauth2,
        issuer: None,
        authorization_endpoint: endpoint("/login/oauth/authorize"),
        token_endpoint: endpoint("/login/oauth/access_token"),
        userinfo_endpoint: endpoint("/user"),
        client_id: "gh-client".into(),
        client_secret: Some(SecretString::from("gh-secret")),
        client_secret_file: None,
        scopes: vec!["read:user".into(), "user:email".into()],
        claims: ClaimMap {
            subject: "id".into(),
            ..ClaimMap::default()
        },
        link: LinkPolicy::Create,
        trusted_mfa: false,
        upstream_logout: false,
    };
    let downstream = TestApp::spawn_with(backend, |s| s.federation.providers = vec![github]).await;
    let (start, verifier) = authorize(&downstream, &[("idp_hint", "github")]);
    let stop = browse(
        (&downstream, &base),
        &downstream.http,
        &start,
        ("-", "-"),
        &|u| u,
    )
    .await;
    let back = match stop {
        Stop::AtClient(url) => url,
        other => panic!("{other:?}"),
    };
    assert!(back.starts_with(REDIRECT), "{back}");
    let (tokens, claims) = tokens_for(&downstream, &back, &verifier).await;
    assert_eq!(claims["idp"], "github");
    assert_eq!(claims["amr"], json!(["fed"]));
    let profile = userinfo(&downstream, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(profile["email"], "octocat@example.org");
    assert_eq!(
        profile["email_verified"], false,
        "GitHub's /user says nothing of it"
    );
    assert_eq!(profile["name"], "The Octocat");
    assert_eq!(identities(&downstream).await, 1);
    server.stop(true).await;
}
