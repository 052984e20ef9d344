//! `/revoke` (RFC 7009) and `/introspect` (RFC 7662): both need an authenticated client.

use actix_web::{HttpRequest, HttpResponse, web};

use super::paths;
use super::token::authenticated_client;
use crate::oauth::authorize::Params;
use crate::oauth::{Error, revocation};
use crate::startup::Components;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::REVOKE, web::post().to(revoke))
        .route(paths::INTROSPECT, web::post().to(introspect));
}

#[tracing::instrument(skip_all)]
async fn revoke(
    req: HttpRequest,
    form: web::Form<Vec<(String, String)>>,
    c: web::Data<Components>,
) -> Result<HttpResponse, Error> {
    let params = Params::new(form.into_inner());
    let client = authenticated_client(&req, &params, &c).await?;
    let token = params
        .get("token")
        .ok_or_else(|| Error::invalid_request("token is missing"))?;
    let hint = params.get("token_type_hint");
    let family_ttl = c.settings.tokens.refresh_token_max_ttl_secs;
    revocation::revoke(
        c.store.as_ref(),
        &c.keys,
        &c.issuer,
        &client,
        token,
        hint,
        family_ttl,
    )
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .finish())
}

/// Public clients hold no secret, so they cannot be the protected resource that asks.
#[tracing::instrument(skip_all)]
async fn introspect(
    req: HttpRequest,
    form: web::Form<Vec<(String, String)>>,
    c: web::Data<Components>,
) -> Result<HttpResponse, Error> {
    let params = Params::new(form.into_inner());
    let client = authenticated_client(&req, &params, &c).await?;
    if client.is_public() {
        return Err(Error::invalid_client(
            "introspection requires a confidential client",
            false,
        ));
    }
    let token = params
        .get("token")
        .ok_or_else(|| Error::invalid_request("token is missing"))?;
    let answer = revocation::introspect(
        c.store.as_ref(),
        &c.keys,
        &c.issuer,
        token,
        params.get("token_type_hint"),
    )
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(answer))
}
