//! The admin API's view of the audit log: a search by user, client, kind and time window,
//! newest first, page by page (see `admin::audit_log`, which checks each value).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::SecondsFormat;
use serde::Deserialize;
use serde_json::{Value, json};

use super::admin::{operator, reply};
use super::extract::Caller;
use super::problem::Problem;
use crate::admin::Admin;
use crate::admin::access::AdminAccess;
use crate::admin::audit_log::AuditQuery;
use crate::audit::Recorded;
use crate::clock::UnixTime;

/// The query as sent; every value is text until `admin::audit_log` reads it, so a bad one is
/// refused naming its field.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AuditParams {
    /// Only this user's events (a user id).
    user: Option<String>,
    /// Only events about this client (a client_id).
    client: Option<String>,
    /// Only events of this kind (e.g. `login_failed`).
    kind: Option<String>,
    /// Events at or after this RFC 3339 date-time (percent-encode a `+` offset, or use `Z`).
    since: Option<String>,
    /// Events before this RFC 3339 date-time.
    until: Option<String>,
    /// The `next_cursor` of the page before.
    cursor: Option<String>,
    /// Events per page, 1 to 200 (50 unless given).
    #[param(value_type = Option<u64>)]
    limit: Option<String>,
}

fn event_json(event: &Recorded) -> Value {
    let at = UnixTime::from_millis(event.at).to_datetime();
    // Stored as the JSON text it was built from; shown as that JSON.
    let detail = serde_json::from_str(&event.detail).unwrap_or_else(|_| json!(event.detail));
    json!({
        "id": event.id,
        "at": at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "kind": event.kind,
        "user_id": event.user_id,
        "client_id": event.client_id,
        "ip": event.ip,
        "user_agent": event.user_agent,
        "request_id": event.request_id,
        "detail": detail,
    })
}

/// The query is read after the token, so a stranger learns nothing from a malformed one.
#[utoipa::path(tag = "audit", params(AuditParams), responses(
    (status = 200, description = "A page of events, newest first, and `next_cursor`: the cursor of the next page, or null"),
    (status = 400, description = "A value or parameter the search does not take (problem details naming the field)"),
    (status = 401, description = "No valid access token"),
    (status = 403, description = "The token's bearer is no operator"),
))]
#[get("/audit-events")]
pub(super) async fn list_audit_events(
    req: HttpRequest,
    caller: Caller,
    (access, admin): (web::Data<AdminAccess>, web::Data<Admin>),
) -> Result<HttpResponse, Problem> {
    let admin = operator(&req, &access, &admin, caller).await?;
    let params = web::Query::<AuditParams>::from_query(req.query_string())
        .map_err(|e| Problem::bad_query(e.to_string()))?
        .into_inner();
    let query = AuditQuery {
        user: params.user,
        client: params.client,
        kind: params.kind,
        since: params.since,
        until: params.until,
        cursor: params.cursor,
        limit: params.limit,
    };
    let page = admin.audit_events(query).await?;
    let events: Vec<Value> = page.events.iter().map(event_json).collect();
    Ok(reply(
        StatusCode::OK,
        &json!({ "events": events, "next_cursor": page.next_cursor }),
    ))
}
