//! The registration endpoint (RFC 7591 §3) and the client configuration endpoint (RFC 7592
//! §2): JSON in, JSON out, OAuth errors (`invalid_redirect_uri`, `invalid_client_metadata`,
//! `invalid_token` with its RFC 6750 challenge). The rules are `admin::dynamic`'s.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::extract::Caller;
use super::wire;
use crate::admin::dynamic::Registrar;
use crate::oauth::Error;
use crate::paths;

/// The largest registration read: a JWK Set of a few keys and a few dozen URIs fit.
const MAX_BODY: usize = 64 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    let limit = web::PayloadConfig::new(MAX_BODY);
    cfg.service(
        web::resource(paths::CLIENT_REGISTRATION)
            .app_data(limit.clone())
            .post(register),
    )
    .service(
        web::resource(format!("{}/{{client_id}}", paths::CLIENT_REGISTRATION))
            .app_data(limit)
            .get(read)
            .put(update)
            .delete(delete),
    );
}

/// RFC 7591 §3.2.1: a registration's answer is never cached.
fn answer(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Pragma", "no-cache"))
        .json(body)
}

/// Registration off: the endpoint is not there.
fn when_off(registrar: &Registrar) -> Option<HttpResponse> {
    (!registrar.is_on()).then(|| HttpResponse::NotFound().finish())
}

/// RFC 7591 §3: the body is JSON.
fn json_body(req: &HttpRequest) -> Result<(), Error> {
    let json = req
        .headers()
        .get("Content-Type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim() == "application/json")
        });
    match json {
        true => Ok(()),
        false => Err(Error::InvalidClientMetadata(
            "send the metadata as application/json".into(),
        )),
    }
}

#[tracing::instrument(skip_all)]
async fn register(
    req: HttpRequest,
    caller: Caller,
    registrar: web::Data<Registrar>,
    body: web::Bytes,
) -> Result<HttpResponse, Error> {
    if let Some(off) = when_off(&registrar) {
        return Ok(off);
    }
    json_body(&req)?;
    let initial = wire::bearer_token(&req);
    let shown = registrar
        .register(&caller.0, initial.as_deref(), &body)
        .await?;
    Ok(answer(StatusCode::CREATED, &shown))
}

#[tracing::instrument(skip_all, fields(client_id = %id))]
async fn read(
    req: HttpRequest,
    registrar: web::Data<Registrar>,
    id: web::Path<String>,
) -> Result<HttpResponse, Error> {
    if let Some(off) = when_off(&registrar) {
        return Ok(off);
    }
    let token = wire::bearer_token(&req);
    let shown = registrar.read(&id, token.as_deref()).await?;
    Ok(answer(StatusCode::OK, &shown))
}

#[tracing::instrument(skip_all, fields(client_id = %id))]
async fn update(
    req: HttpRequest,
    caller: Caller,
    registrar: web::Data<Registrar>,
    (id, body): (web::Path<String>, web::Bytes),
) -> Result<HttpResponse, Error> {
    if let Some(off) = when_off(&registrar) {
        return Ok(off);
    }
    let token = wire::bearer_token(&req);
    let presented = (id.as_str(), token.as_deref());
    let shown = registrar.update(&caller.0, presented, &body).await?;
    Ok(answer(StatusCode::OK, &shown))
}

#[tracing::instrument(skip_all, fields(client_id = %id))]
async fn delete(
    req: HttpRequest,
    caller: Caller,
    registrar: web::Data<Registrar>,
    id: web::Path<String>,
) -> Result<HttpResponse, Error> {
    if let Some(off) = when_off(&registrar) {
        return Ok(off);
    }
    let token = wire::bearer_token(&req);
    registrar.delete(&caller.0, &id, token.as_deref()).await?;
    Ok(HttpResponse::NoContent().finish())
}
