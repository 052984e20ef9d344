//! The admin API's view of one user's browser sessions and consents: list them, end a
//! session, take a consent back (see `admin::sessions`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, web};
use serde_json::{Value, json};

use super::admin::{operator, reply};
use super::extract::Caller;
use super::problem::Problem;
use crate::admin::Admin;
use crate::admin::access::AdminAccess;
use crate::admin::sessions::Oversight;
use crate::sessions::Session;

type Services = (
    web::Data<AdminAccess>,
    web::Data<Admin>,
    web::Data<Oversight>,
);

fn session_json(session: &Session) -> Value {
    json!({
        "sid": session.sid,
        "auth_time": session.auth_time,
        "amr": session.amr,
        "created_at": session.created_at,
        "last_seen": session.last_seen,
        "expires_at": session.expires_at,
        "ip": session.ip,
        "user_agent": session.user_agent,
    })
}

#[utoipa::path(tag = "sessions", params(("id" = String, Path, description = "user id or email")),
    responses(
        (status = 200, description = "The user's live browser sessions, newest first"),
        (status = 404, description = "No such user"),
))]
#[get("/users/{id}/sessions")]
pub(super) async fn list_sessions(
    req: HttpRequest,
    caller: Caller,
    (access, admin, oversight): Services,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let admin = operator(&req, &access, &admin, caller).await?;
    let user = admin.user(&id).await?;
    let sessions = oversight.sessions(&user.id).await?;
    let listed: Vec<Value> = sessions.iter().map(session_json).collect();
    Ok(reply(StatusCode::OK, &listed))
}

#[utoipa::path(tag = "sessions",
    params(("id" = String, Path, description = "user id or email"), ("sid" = String, Path, description = "session id")),
    responses(
        (status = 204, description = "Ended: its refresh tokens revoked, its clients told"),
        (status = 404, description = "No such session of that user"),
))]
#[delete("/users/{id}/sessions/{sid}")]
pub(super) async fn end_session(
    req: HttpRequest,
    caller: Caller,
    (access, admin, oversight): Services,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let admin = operator(&req, &access, &admin, caller).await?;
    let (user, sid) = path.into_inner();
    let user = admin.user(&user).await?;
    oversight.end_session(&user.id, &sid, &admin.origin).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "consents", params(("id" = String, Path, description = "user id or email")),
    responses((status = 200, description = "What the user has allowed, newest first")))]
#[get("/users/{id}/consents")]
pub(super) async fn list_consents(
    req: HttpRequest,
    caller: Caller,
    (access, admin, oversight): Services,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let admin = operator(&req, &access, &admin, caller).await?;
    let user = admin.user(&id).await?;
    let consents = oversight.consents(&user.id).await?;
    let listed: Vec<Value> = consents
        .iter()
        .map(|c| json!({ "client_id": c.client_id, "scope": c.scopes, "granted_at": c.granted_at }))
        .collect();
    Ok(reply(StatusCode::OK, &listed))
}

#[utoipa::path(tag = "consents",
    params(("id" = String, Path, description = "user id or email"), ("client_id" = String, Path, description = "client")),
    responses(
        (status = 204, description = "Revoked, with that client's refresh tokens for the user"),
        (status = 404, description = "The user had not allowed that client"),
))]
#[delete("/users/{id}/consents/{client_id}")]
pub(super) async fn revoke_consent(
    req: HttpRequest,
    caller: Caller,
    (access, admin, oversight): Services,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let admin = operator(&req, &access, &admin, caller).await?;
    let (user, client) = path.into_inner();
    let user = admin.user(&user).await?;
    oversight
        .revoke_consent(&user.id, &client, &admin.origin)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
