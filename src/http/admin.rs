//! The admin API (`/admin/api/v1`): JSON for operators' scripts and tools, authorised by an
//! operator's access token (see `admin::access`), errors as problem details. Clients today:
//! list, register (the secret shown once), read (with an `ETag`), update (`If-Match`),
//! delete, rotate the secret.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use serde_json::json;
use utoipa::OpenApi;
use utoipa_actix_web::OpenApiFactory;

use super::extract::Caller;
use super::problem::Problem;
use super::wire;
use super::{admin_audit, admin_keys, admin_registration, admin_sessions, admin_users};
use crate::admin::Admin;
use crate::admin::access::AdminAccess;
use crate::admin::registration::{ClientMetadata, metadata_of, rotated_json};
use crate::paths;

/// The largest request body the admin API reads.
const MAX_BODY: usize = 64 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gatehouse admin API",
        description = "Operate Gatehouse: an admin user's access token, or a client-credentials token with the gatehouse:admin scope, as a Bearer token. Errors are RFC 9457 problem details."
    ),
    modifiers(&BearerToken)
)]
struct AdminApi;

/// Every operation takes a Bearer token (RFC 6750 §2.1); declared in the document, so tools
/// (and the Authorize dialog at `/docs`) know to send one.
struct BearerToken;

impl utoipa::Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let scheme = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build();
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
        let required = utoipa::openapi::security::SecurityRequirement::new("bearer", [""; 0]);
        openapi.security = Some(vec![required]);
    }
}

/// Mounts the admin API and its OpenAPI document. Each route is registered from its
/// documented handler (utoipa-actix-web), so the document lists every route there is.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let scope = utoipa_actix_web::scope(paths::ADMIN_API)
        .app_data(json_bodies())
        .service(list_clients)
        .service(create_client)
        .service(show_client)
        .service(update_client)
        .service(delete_client)
        .service(rotate_secret)
        .service(admin_sessions::list_sessions)
        .service(admin_sessions::end_session)
        .service(admin_sessions::list_consents)
        .service(admin_sessions::revoke_consent)
        .service(admin_users::list_users)
        .service(admin_users::create_user)
        .service(admin_users::show_user)
        .service(admin_users::update_user)
        .service(admin_users::disable_user)
        .service(admin_users::enable_user)
        .service(admin_users::list_roles)
        .service(admin_users::create_role)
        .service(admin_users::set_password)
        .service(admin_users::add_role)
        .service(admin_users::remove_role)
        .service(admin_users::delete_user)
        .service(admin_audit::list_audit_events)
        .service(admin_keys::list_keys)
        .service(admin_keys::rotate_keys)
        .service(admin_keys::revoke_key)
        .service(admin_registration::create_initial_token);
    let document = document_of(&scope);
    // The document's resource goes first: the scope would otherwise take its path.
    cfg.service(
        web::resource(paths::ADMIN_OPENAPI)
            .app_data(web::Data::new(document))
            .get(openapi_json),
    )
    .service(scope);
}

/// JSON bodies: bounded, declared as JSON, and a plain 400 when malformed (handlers turn it
/// into problem details once the token has passed, see [`read`]).
fn json_bodies() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_BODY)
        .content_type_required(true)
        .error_handler(|error, _| actix_web::error::ErrorBadRequest(error.to_string()))
}

/// The OpenAPI document, serialised once.
struct OpenApiJson(String);

/// The document of the scope's routes, with the schemas of their bodies: without those, every
/// `$ref` to a body's schema would point at nothing.
fn document_of(scope: &impl OpenApiFactory) -> OpenApiJson {
    let mut document = AdminApi::openapi();
    document.paths = scope.paths();
    let mut schemas = Vec::new();
    scope.schemas(&mut schemas);
    let components = document.components.get_or_insert_with(Default::default);
    components.schemas.extend(schemas);
    OpenApiJson(document.to_json().unwrap_or_default())
}

async fn openapi_json(document: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document.0.clone())
}

/// A JSON body, looked at only once the token has passed: a stranger's malformed body is
/// answered 401 like any other request without a token, not with what was wrong with it.
pub(super) type Body<T> = Result<web::Json<T>, actix_web::Error>;

/// The body's value, or the problem with it.
pub(super) fn read<T>(body: Body<T>) -> Result<T, Problem> {
    body.map(web::Json::into_inner)
        .map_err(|error| Problem::bad_body(error.to_string()))
}

/// The admin service acting for the operator behind the request's token.
pub(super) async fn operator(
    req: &HttpRequest,
    access: &AdminAccess,
    admin: &Admin,
    caller: Caller,
) -> Result<Admin, Problem> {
    let bearer = wire::bearer_token(req);
    let operator = access.operator(bearer.as_deref()).await?;
    Ok(admin.acting_for(caller.0, &operator.label()))
}

#[utoipa::path(tag = "clients", responses(
    (status = 200, description = "Every client, as RFC 7591 metadata"),
    (status = 401, description = "No valid access token"),
    (status = 403, description = "The token's bearer is no operator"),
))]
#[get("/clients")]
async fn list_clients(
    req: HttpRequest,
    caller: Caller,
    (access, admin): (web::Data<AdminAccess>, web::Data<Admin>),
) -> Result<HttpResponse, Problem> {
    let admin = operator(&req, &access, &admin, caller).await?;
    let clients = admin.clients().await?;
    let listed: Vec<_> = clients.iter().map(metadata_of).collect();
    Ok(reply(StatusCode::OK, &listed))
}

#[utoipa::path(tag = "clients", request_body = ClientMetadata, responses(
    (status = 201, description = "Registered: its metadata, with client_secret shown this once"),
    (status = 400, description = "A value breaks a rule (problem details naming the field)"),
))]
#[post("/clients")]
async fn create_client(
    req: HttpRequest,
    caller: Caller,
    (access, admin): (web::Data<AdminAccess>, web::Data<Admin>),
    body: Body<ClientMetadata>,
) -> Result<HttpResponse, Problem> {
    let admin = operator(&req, &access, &admin, caller).await?;
    let created = admin.create_client(read(body)?.into_new_client()?).await?;
    let mut shown = metadata_of(&created.client);
    if let Some(secret) = created.secret {
        shown["client_secret"] = json!(secret);
        shown["client_secret_expires_at"] = json!(0);
    }
    let location = format!("{}/clients/{}", paths::ADMIN_API, created.client.id);
    Ok(no_store(StatusCode::CREATED)
        .insert_header(("Location", location))
        .json(shown))
}

#[utoipa::path(tag = "clients", params(("id" = String, Path, description = "client_id")),
    responses(
        (status = 200, description = "The client's metadata, with its ETag"),
        (status = 404, description = "No such client"),
))]
#[get("/clients/{id}")]
async fn show_client(
    req: HttpRequest,
    caller: Caller,
    (access, admin): (web::Data<AdminAccess>, web::Data<Admin>),
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let admin = operator(&req, &access, &admin, caller).await?;
    let (client, etag) = admin.client_versioned(&id).await?;
    Ok(no_store(StatusCode::OK)
        .insert_header(("ETag", etag))
        .json(metadata_of(&client)))
}

/// Replaces a registration; `If-Match` must carry the `ETag` it was read with (RFC 9110
/// §13.1.1), or the answer is 428, and 412 when someone changed it meanwhile.
#[utoipa::path(tag = "clients", request_body = ClientMetadata,
    params(("id" = String, Path, description = "client_id")),
    responses(
        (status = 200, description = "Updated: its metadata, with the new ETag"),
        (status = 412, description = "If-Match names a version that is no longer current"),
        (status = 428, description = "If-Match is missing"),
))]
#[put("/clients/{id}")]
async fn update_client(
    req: HttpRequest,
    caller: Caller,
    (access, admin): (web::Data<AdminAccess>, web::Data<Admin>),
    (id, body): (web::Path<String>, Body<ClientMetadata>),
) -> Result<HttpResponse, Problem> {
    let admin = operator(&req, &access, &admin, caller).await?;
    let new = read(body)?.into_new_client()?;
    let (client, etag) = admin.update_client(&id, new, if_match(&req)).await?;
    Ok(no_store(StatusCode::OK)
        .insert_header(("ETag", etag))
        .json(metadata_of(&client)))
}

#[utoipa::path(tag = "clients", params(("id" = String, Path, description = "client_id")),
    responses((status = 204, description = "Deleted, with the consents given to it")))]
#[delete("/clients/{id}")]
async fn delete_client(
    req: HttpRequest,
    caller: Caller,
    (access, admin): (web::Data<AdminAccess>, web::Data<Admin>),
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let admin = operator(&req, &access, &admin, caller).await?;
    admin.delete_client(&id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// How long the old secret keeps working: `admin.secret_rotation_overlap_secs` unless
/// given; 0 ends it at once (after a leak).
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct Overlap {
    overlap_secs: Option<u64>,
}

#[utoipa::path(tag = "clients",
    params(("id" = String, Path, description = "client_id"), Overlap),
    responses((status = 200,
        description = "The new client_secret, shown this once, and previous_secret_expires_at")))]
#[post("/clients/{id}/secret")]
async fn rotate_secret(
    req: HttpRequest,
    caller: Caller,
    (access, admin): (web::Data<AdminAccess>, web::Data<Admin>),
    (id, overlap): (
        web::Path<String>,
        Result<web::Query<Overlap>, actix_web::Error>,
    ),
) -> Result<HttpResponse, Problem> {
    let admin = operator(&req, &access, &admin, caller).await?;
    let overlap = overlap.map_err(|e| Problem::bad_query(e.to_string()))?;
    let overlap = overlap.overlap_secs.map(std::time::Duration::from_secs);
    let rotated = admin.rotate_client_secret(&id, overlap).await?;
    Ok(reply(StatusCode::OK, &rotated_json(&id, &rotated)))
}

/// The request's `If-Match` (RFC 9110 §13.1.1): the `ETag` an update was read with.
pub(super) fn if_match(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get("If-Match")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// An admin API answer: it carries registrations, users and secrets, so it is never cached.
pub(super) fn no_store(status: StatusCode) -> actix_web::HttpResponseBuilder {
    let mut builder = HttpResponse::build(status);
    builder.insert_header(("Cache-Control", "no-store"));
    builder
}

/// [`no_store`] with a JSON body.
pub(super) fn reply(status: StatusCode, body: &impl serde::Serialize) -> HttpResponse {
    no_store(status).json(body)
}
