//! `/revoke` (RFC 7009) and `/introspect` (RFC 7662): both need an authenticated client.

use actix_web::{HttpResponse, web};

use super::extract::AuthenticatedClient;
use crate::oauth::Error;
use crate::oauth::authorize::Params;
use crate::oauth::revocation::Revocation;
use crate::paths;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::REVOKE, web::post().to(revoke))
        .route(paths::INTROSPECT, web::post().to(introspect));
}

fn token(params: &Params) -> Result<&str, Error> {
    params
        .get("token")
        .ok_or_else(|| Error::invalid_request("token is missing"))
}

#[tracing::instrument(skip_all)]
async fn revoke(
    AuthenticatedClient {
        client,
        params,
        origin,
    }: AuthenticatedClient,
    revocation: web::Data<Revocation>,
) -> Result<HttpResponse, Error> {
    let hint = params.get("token_type_hint");
    revocation
        .revoke(&client, token(&params)?, hint, &origin)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .finish())
}

#[tracing::instrument(skip_all)]
async fn introspect(
    AuthenticatedClient { client, params, .. }: AuthenticatedClient,
    revocation: web::Data<Revocation>,
) -> Result<HttpResponse, Error> {
    let hint = params.get("token_type_hint");
    let answer = revocation
        .introspect(&client, token(&params)?, hint)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(answer))
}
