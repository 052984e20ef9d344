//! The admin API's signing keys: those the JWKS publishes, which sign, and nothing private
//! (see `keys::PublishedKey`); rotating one in and revoking one (see `admin::keys`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde_json::json;

use super::admin::{Body, operator, read, reply};
use super::extract::Caller;
use super::problem::Problem;
use crate::admin::access::AdminAccess;
use crate::admin::{Admin, AdminError};
use crate::keys::{Alg, KeyRing};

#[utoipa::path(tag = "keys", responses(
    (status = 200, description = "`keys`: each published signing key's kid, kty, alg, use, created_at and state (`active` signs; `verifying` only verifies)"),
    (status = 401, description = "No valid access token"),
    (status = 403, description = "The token's bearer is no operator"),
))]
#[get("/keys")]
pub(super) async fn list_keys(
    req: HttpRequest,
    caller: Caller,
    (access, admin, keys): (web::Data<AdminAccess>, web::Data<Admin>, web::Data<KeyRing>),
) -> Result<HttpResponse, Problem> {
    operator(&req, &access, &admin, caller).await?;
    Ok(reply(StatusCode::OK, &json!({ "keys": keys.published() })))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RotateKeys {
    /// RS256, ES256 or EdDSA; every enabled algorithm when left out.
    alg: Option<String>,
}

#[utoipa::path(tag = "keys", request_body = RotateKeys, responses(
    (status = 200, description = "`rotated`: each new key's kid, alg and activates_at (after keys.publish_delay_secs)"),
    (status = 400, description = "An algorithm the server has no keys for"),
))]
#[post("/keys/rotate")]
pub(super) async fn rotate_keys(
    req: HttpRequest,
    caller: Caller,
    (access, admin): (web::Data<AdminAccess>, web::Data<Admin>),
    body: Body<RotateKeys>,
) -> Result<HttpResponse, Problem> {
    let admin = operator(&req, &access, &admin, caller).await?;
    let alg = match read(body)?.alg {
        Some(name) => Some(Alg::parse(&name).ok_or_else(|| {
            AdminError::invalid("alg", format!("{name:?} is not RS256, ES256 or EdDSA"))
        })?),
        None => None,
    };
    let rotated = admin.rotate_keys(alg).await?;
    Ok(reply(StatusCode::OK, &json!({ "rotated": rotated })))
}

#[utoipa::path(tag = "keys", params(("kid" = String, Path, description = "the key's kid")),
    responses(
        (status = 200, description = "Revoked: out of the JWKS at once; `replacement` signs in its place when it was signing"),
        (status = 404, description = "No such key, or revoked already"),
))]
#[post("/keys/{kid}/revoke")]
pub(super) async fn revoke_key(
    req: HttpRequest,
    caller: Caller,
    (access, admin): (web::Data<AdminAccess>, web::Data<Admin>),
    kid: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let admin = operator(&req, &access, &admin, caller).await?;
    let revoked = admin.revoke_key(&kid).await?;
    Ok(reply(StatusCode::OK, &revoked))
}
