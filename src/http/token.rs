//! `/token` (RFC 6749 §3.2): the client authenticated once (by the extractor), the form
//! parsed once into a `TokenRequest`, one call to the grants.

use actix_web::{HttpResponse, web};

use super::extract::AuthenticatedClient;
use crate::oauth::Error;
use crate::oauth::grants::Grants;
use crate::oauth::token_request::TokenRequest;
use crate::paths;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::TOKEN, web::post().to(token));
}

#[tracing::instrument(skip_all, fields(client_id, grant_type))]
async fn token(
    AuthenticatedClient {
        client,
        params,
        origin,
    }: AuthenticatedClient,
    grants: web::Data<Grants>,
) -> Result<HttpResponse, Error> {
    let span = tracing::Span::current();
    span.record("client_id", client.id.as_str());
    let request = TokenRequest::parse(&params)?;
    span.record("grant_type", request.grant_type().as_str());
    let body = grants.issue(&client, request, &origin).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Pragma", "no-cache"))
        .body(body))
}
