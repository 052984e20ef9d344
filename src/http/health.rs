//! Liveness and readiness probes.

use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::{HttpResponse, web};
use sea_orm::DatabaseConnection;
use serde_json::json;

use crate::keys::KeyRing;
use crate::paths;
use crate::store::Store;

/// Set when the instance is shutting down: `/readyz` answers 503 from then on, so load
/// balancers stop sending requests while those already sent are still served.
#[derive(Debug, Default)]
pub struct Draining(AtomicBool);

impl Draining {
    pub fn start(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::HEALTHZ, web::get().to(healthz))
        .route(paths::READYZ, web::get().to(readyz));
}

/// The process is up and serving.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Ready when the database and the ephemeral store answer and the signing keys are
/// loaded; 503 otherwise, and at once while draining.
async fn readyz(
    db: web::Data<DatabaseConnection>,
    store: web::Data<Store>,
    keys: web::Data<KeyRing>,
    draining: web::Data<Draining>,
) -> HttpResponse {
    if draining.is_set() {
        return unready().json(json!({"status": "draining"}));
    }
    let database = db.ping().await.is_ok();
    let store = store.ping().await.is_ok();
    let signing = keys.loaded_cleanly();
    let word = |ok: bool| if ok { "ok" } else { "down" };
    let body = json!({
        "status": if database && store && signing { "ready" } else { "unavailable" },
        "database": word(database),
        "store": word(store),
        "signing_keys": if signing { "ok" } else { "unavailable" },
    });
    if database && store && signing {
        HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(body)
    } else {
        unready().json(body)
    }
}

fn unready() -> actix_web::HttpResponseBuilder {
    let mut response = HttpResponse::ServiceUnavailable();
    response.insert_header(("Cache-Control", "no-store"));
    response
}
