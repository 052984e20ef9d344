//! A small OIDC upstream written for the tests, whose keys and timing a test chooses: an ID
//! token signed by a key its JWKS does not publish (a forger in the middle) is refused even
//! after the keys are read again; a key rotated in upstream is read again on the miss and
//! accepted; a token endpoint slower than `federation.timeout_ms` ends on our page.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{HttpResponse, web};
use gatehouse::settings::LinkPolicy;
use josekit::jwk::Jwk;
use josekit::jws::{JwsHeader, RS256};
use josekit::jwt::{self, JwtPayload};
use serde_json::json;

use super::upstream_stub::{approve, serve};
use super::{PROVIDER, Stop, identities, provider, sign_in_through};
use crate::backend_tests;
use crate::helpers::{Backend, TestApp};

backend_tests!(
    an_id_token_signed_by_another_key_ends_on_our_page,
    a_key_rotated_in_upstream_is_read_again_on_a_miss,
    a_slow_upstream_ends_on_our_page,
);

#[derive(Clone, Default)]
struct Impostor {
    issuer: Arc<Mutex<String>>,
    nonce: Arc<Mutex<String>>,
    /// What the JWKS publishes...
    published: Arc<Mutex<Vec<Jwk>>>,
    /// ...a key it starts publishing once the browser comes by (a rotation upstream)...
    rotated_in: Option<Arc<Jwk>>,
    /// ...and the key that signs the ID token, with the `kid` its header names.
    signing: Arc<(String, Vec<u8>)>,
    token_delay: Duration,
}

/// A key pair: its public JWK under `kid`, and its private key.
fn key(kid: &str) -> (Jwk, Vec<u8>) {
    let pair = RS256.generate_key_pair(2048).unwrap();
    let mut public = pair.to_jwk_public_key();
    public.set_key_id(kid);
    public.set_algorithm("RS256");
    public.set_key_use("sig");
    (public, pair.to_der_private_key())
}

fn configure(impostor: Impostor) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    move |cfg: &mut web::ServiceConfig| {
        let state = web::Data::new(impostor.clone());
        cfg.app_data(state)
            .route(
                "/.well-known/openid-configuration",
                web::get().to(discovery),
            )
            .route("/authorize", web::get().to(authorize_endpoint))
            .route("/token", web::post().to(token))
            .route("/jwks", web::get().to(jwks));
    }
}

async fn discovery(state: web::Data<Impostor>) -> HttpResponse {
    let issuer = state.issuer.lock().unwrap().clone();
    HttpResponse::Ok().json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn authorize_endpoint(
    query: web::Query<HashMap<String, String>>,
    state: web::Data<Impostor>,
) -> HttpResponse {
    *state.nonce.lock().unwrap() = query["nonce"].clone();
    if let Some(rotated) = &state.rotated_in {
        state
            .published
            .lock()
            .unwrap()
            .push(rotated.as_ref().clone());
    }
    approve(&query, "impostor-code")
}

async fn token(state: web::Data<Impostor>) -> HttpResponse {
    tokio::time::sleep(state.token_delay).await;
    let issuer = state.issuer.lock().unwrap().clone();
    let now = chrono::Utc::now().timestamp();
    let mut payload = JwtPayload::new();
    for (name, value) in [
        ("iss", json!(issuer)),
        ("aud", json!("downstream")),
        ("sub", json!("upstream-subject")),
        ("email", json!("someone@example.org")),
        ("email_verified", json!(true)),
        ("iat", json!(now)),
        ("exp", json!(now + 300)),
        ("nonce", json!(state.nonce.lock().unwrap().clone())),
    ] {
        payload.set_claim(name, Some(value)).unwrap();
    }
    let (kid, der) = state.signing.as_ref();
    let mut header = JwsHeader::new();
    header.set_key_id(kid);
    let signer = RS256.signer_from_der(der).unwrap();
    let id_token = jwt::encode_with_signer(&payload, &header, &signer).unwrap();
    HttpResponse::Ok().json(json!({
        "access_token": "impostor-access-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token,
    }))
}

async fn jwks(state: web::Data<Impostor>) -> HttpResponse {
    let keys = state.published.lock().unwrap().clone();
    HttpResponse::Ok().json(json!({ "keys": keys }))
}

/// The impostor running, and a downstream that trusts it (`timeout_ms` for its calls).
async fn trusting(backend: Backend, impostor: Impostor, timeout_ms: u64) -> (String, TestApp) {
    let (issuer, _server) = serve(configure(impostor.clone()));
    *impostor.issuer.lock().unwrap() = issuer.clone();
    let downstream = TestApp::spawn_with(backend, |s| {
        s.federation.providers = vec![provider(PROVIDER, &issuer, LinkPolicy::Create)];
        s.federation.timeout_ms = timeout_ms;
    })
    .await;
    (issuer, downstream)
}

/// Signs in through the impostor; where the browser stopped.
async fn sign_in(issuer: &str, downstream: &TestApp) -> Stop {
    let apps = (downstream, issuer);
    sign_in_through(apps, &downstream.http, ("-", "-"), &|u| u)
        .await
        .0
}

fn assert_our_page(stop: Stop, downstream: &TestApp, says: &str) {
    match stop {
        Stop::Page { status, url, html } => {
            assert!(url.starts_with(&downstream.address), "{url}");
            assert_eq!(status, 502, "{html}");
            assert!(html.contains(says), "{html}");
        }
        other => panic!("{other:?}"),
    }
}

async fn an_id_token_signed_by_another_key_ends_on_our_page(backend: Backend) {
    let (public, _) = key("published");
    let (_, forger) = key("published");
    let impostor = Impostor {
        published: Arc::new(Mutex::new(vec![public])),
        signing: Arc::new(("published".into(), forger)),
        ..Impostor::default()
    };
    let (issuer, downstream) = trusting(backend, impostor, 5000).await;
    let stop = sign_in(&issuer, &downstream).await;
    assert_our_page(stop, &downstream, "could not be verified");
    assert_eq!(identities(&downstream).await, 0, "nothing linked");
}

async fn a_key_rotated_in_upstream_is_read_again_on_a_miss(backend: Backend) {
    let (old, _) = key("old");
    let (new, new_private) = key("new");
    let impostor = Impostor {
        published: Arc::new(Mutex::new(vec![old])),
        rotated_in: Some(Arc::new(new)),
        signing: Arc::new(("new".into(), new_private)),
        ..Impostor::default()
    };
    let (issuer, downstream) = trusting(backend, impostor, 5000).await;
    // The keys were read (old only) before the browser left; the token names the new one.
    let back = sign_in(&issuer, &downstream).await.client_url();
    assert!(back.contains("code="), "{back}");
    assert_eq!(identities(&downstream).await, 1);
}

async fn a_slow_upstream_ends_on_our_page(backend: Backend) {
    let (public, private) = key("k");
    let impostor = Impostor {
        published: Arc::new(Mutex::new(vec![public])),
        signing: Arc::new(("k".into(), private)),
        token_delay: Duration::from_millis(1500),
        ..Impostor::default()
    };
    let (issuer, downstream) = trusting(backend, impostor, 300).await;
    let stop = sign_in(&issuer, &downstream).await;
    assert_our_page(stop, &downstream, "cannot be reached right now");
    assert_eq!(identities(&downstream).await, 0, "nothing linked");
}
