//! The admin API's initial access tokens (RFC 7591 §3.1): what an operator hands a relying
//! party so it can register itself when `registration.mode = "initial_token"`.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::Deserialize;
use serde_json::json;

use super::admin::{Body, operator, read, reply};
use super::extract::Caller;
use super::problem::Problem;
use crate::admin::Admin;
use crate::admin::access::AdminAccess;

/// A day, unless the operator says otherwise.
const DEFAULT_LIFETIME_SECS: u64 = 86_400;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewInitialToken {
    /// Registrations it allows; no limit when left out.
    uses: Option<u32>,
    /// How long it works (a day unless given; at most a year).
    expires_in_secs: Option<u64>,
}

#[utoipa::path(tag = "registration", request_body = NewInitialToken, responses(
    (status = 201, description = "`initial_access_token` (shown this once), `expires_at`, `uses`"),
    (status = 400, description = "A value breaks a rule"),
))]
#[post("/registration-tokens")]
pub(super) async fn create_initial_token(
    req: HttpRequest,
    caller: Caller,
    (access, admin): (web::Data<AdminAccess>, web::Data<Admin>),
    body: Body<NewInitialToken>,
) -> Result<HttpResponse, Problem> {
    let admin = operator(&req, &access, &admin, caller).await?;
    let body = read(body)?;
    let lifetime = Duration::from_secs(body.expires_in_secs.unwrap_or(DEFAULT_LIFETIME_SECS));
    let issued = admin.create_initial_token(body.uses, lifetime).await?;
    let shown = json!({
        "initial_access_token": issued.token,
        "expires_at": issued.expires_at,
        "uses": issued.uses,
    });
    Ok(reply(StatusCode::CREATED, &shown))
}
