//! The thin web layer: extract and validate the wire format, call one capability, render.

pub mod error;
pub mod health;
pub mod oidc;
pub mod paths;

use actix_web::web;

/// Mounts every area's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
    oidc::configure(cfg);
}
