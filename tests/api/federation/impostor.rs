//! An upstream whose ID token is signed by a key its JWKS does not publish (a forger in the
//! middle, or a provider misconfigured): refused even after the keys are read again, and
//! nothing is created.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{HttpResponse, web};
use josekit::jws::{JwsHeader, RS256};
use josekit::jwt::{self, JwtPayload};
use serde_json::json;

use super::upstream_stub::{approve, serve};
use super::{PROVIDER, Stop, authorize, browse, identities, provider};
use crate::backend_tests;
use crate::helpers::{Backend, TestApp};
use gatehouse::settings::LinkPolicy;

backend_tests!(an_id_token_signed_by_another_key_ends_on_our_page);

const KID: &str = "published";

#[derive(Clone)]
struct Impostor {
    issuer: Arc<Mutex<String>>,
    nonce: Arc<Mutex<String>>,
    /// What the JWKS publishes under `KID`...
    published: Arc<josekit::jwk::Jwk>,
    /// ...and the key that really signs, under the same `kid`.
    signing: Arc<Vec<u8>>,
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
    approve(&query, "impostor-code")
}

async fn token(state: web::Data<Impostor>) -> HttpResponse {
    let issuer = state.issuer.lock().unwrap().clone();
    let now = chrono::Utc::now().timestamp();
    let mut payload = JwtPayload::new();
    for (name, value) in [
        ("iss", json!(issuer)),
        ("aud", json!("downstream")),
        ("sub", json!("forged-subject")),
        ("email", json!("forged@example.org")),
        ("email_verified", json!(true)),
        ("iat", json!(now)),
        ("exp", json!(now + 300)),
        ("nonce", json!(state.nonce.lock().unwrap().clone())),
    ] {
        payload.set_claim(name, Some(value)).unwrap();
    }
    let mut header = JwsHeader::new();
    header.set_key_id(KID);
    let signer = RS256.signer_from_der(state.signing.as_slice()).unwrap();
    let id_token = jwt::encode_with_signer(&payload, &header, &signer).unwrap();
    HttpResponse::Ok().json(json!({
        "access_token": "impostor-access-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token,
    }))
}

async fn jwks(state: web::Data<Impostor>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "keys": [state.published.as_ref()] }))
}

async fn an_id_token_signed_by_another_key_ends_on_our_page(backend: Backend) {
    let published = RS256.generate_key_pair(2048).unwrap();
    let mut public = published.to_jwk_public_key();
    public.set_key_id(KID);
    public.set_algorithm("RS256");
    public.set_key_use("sig");
    let impostor = Impostor {
        issuer: Arc::default(),
        nonce: Arc::default(),
        published: Arc::new(public),
        signing: Arc::new(RS256.generate_key_pair(2048).unwrap().to_der_private_key()),
    };
    let (issuer, server) = serve(configure(impostor.clone()));
    *impostor.issuer.lock().unwrap() = issuer.clone();
    let downstream = TestApp::spawn_with(backend, |s| {
        s.federation.providers = vec![provider(PROVIDER, &issuer, LinkPolicy::Create)];
    })
    .await;

    let (start, _) = authorize(&downstream, &[]);
    let stop = browse(
        (&downstream, &issuer),
        &downstream.http,
        &start,
        ("-", "-"),
        &|u| u,
    );
    match stop.await {
        Stop::Page { status, url, html } => {
            assert!(url.starts_with(&downstream.address), "{url}");
            assert_eq!(status, 502, "{html}");
            assert!(html.contains("could not be verified"), "{html}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(identities(&downstream).await, 0, "nothing linked");
    server.stop(true).await;
}
