//! The admin API's view of the signing keys: those the JWKS publishes, which one signs, and
//! nothing private (see `keys::PublishedKey`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use serde_json::json;

use super::admin::{operator, reply};
use super::extract::Caller;
use super::problem::Problem;
use crate::admin::Admin;
use crate::admin::access::AdminAccess;
use crate::keys::KeyRing;

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
