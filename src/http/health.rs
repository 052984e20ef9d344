//! Liveness and readiness probes.

use actix_web::{HttpResponse, web};
use sea_orm::DatabaseConnection;
use serde_json::json;

use crate::paths;
use crate::store::Store;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::HEALTHZ, web::get().to(healthz))
        .route(paths::READYZ, web::get().to(readyz));
}

/// The process is up and serving.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Ready when both the database and the ephemeral store answer; 503 otherwise.
async fn readyz(db: web::Data<DatabaseConnection>, store: web::Data<Store>) -> HttpResponse {
    let database = db.ping().await.is_ok();
    let store = store.ping().await.is_ok();
    let body = json!({
        "status": if database && store { "ready" } else { "unavailable" },
        "database": if database { "ok" } else { "down" },
        "store": if store { "ok" } else { "down" },
    });
    let mut response = if database && store {
        HttpResponse::Ok()
    } else {
        HttpResponse::ServiceUnavailable()
    };
    response
        .insert_header(("Cache-Control", "no-store"))
        .json(body)
}
