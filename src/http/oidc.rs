//! Discovery metadata and the JWKS: public, cacheable, readable from any origin.

use actix_web::{HttpResponse, web};

use crate::keys::KeyRing;
use crate::oidc::discovery::DiscoveryJson;
use crate::paths;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::DISCOVERY, web::get().to(discovery))
        .route(paths::OAUTH_METADATA, web::get().to(discovery))
        .route(paths::JWKS, web::get().to(jwks));
}

async fn discovery(doc: web::Data<DiscoveryJson>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .body(doc.0.clone())
}

/// A short cache lifetime, below the publish delay, so relying parties have a rotated-in key
/// before it signs.
async fn jwks(keys: web::Data<KeyRing>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/jwk-set+json")
        .insert_header(("Cache-Control", keys.jwks_cache_control().to_owned()))
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .body(keys.jwks_json().to_string())
}
