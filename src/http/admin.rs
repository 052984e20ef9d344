//! The admin API (`/admin/api/v1`): JSON for operators' scripts and tools, authorised by an
//! operator's access token (see `admin::access`), errors as problem details. Clients today:
//! list, register (the secret shown once), read (with an `ETag`), update (`If-Match`),
//! delete, rotate the secret.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::extract::Caller;
use super::problem::Problem;
use super::wire;
use crate::admin::Admin;
use crate::admin::access::AdminAccess;
use crate::admin::registration::{ClientMetadata, metadata_of};
use crate::paths;

/// The largest request body the admin API reads.
const MAX_BODY: usize = 64 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    let json = web::JsonConfig::default()
        .limit(MAX_BODY)
        .content_type_required(true)
        .error_handler(|error, _| Problem::bad_body(error.to_string()).into());
    cfg.service(
        web::scope(paths::ADMIN_API)
            .app_data(json)
            .route("/clients", web::get().to(list_clients))
            .route("/clients", web::post().to(create_client))
            .route("/clients/{id}", web::get().to(show_client))
            .route("/clients/{id}", web::put().to(update_client))
            .route("/clients/{id}", web::delete().to(delete_client))
            .route("/clients/{id}/secret", web::post().to(rotate_secret)),
    );
}

/// The admin service acting for the operator behind the request's token.
async fn operator(
    req: &HttpRequest,
    access: &AdminAccess,
    admin: &Admin,
    caller: Caller,
) -> Result<Admin, Problem> {
    let bearer = wire::bearer_token(req);
    let operator = access.operator(bearer.as_deref()).await?;
    Ok(admin.acting_for(caller.0, &operator.label()))
}

async fn list_clients(
    req: HttpRequest,
    caller: Caller,
    (access, admin): (web::Data<AdminAccess>, web::Data<Admin>),
) -> Result<HttpResponse, Problem> {
    let admin = operator(&req, &access, &admin, caller).await?;
    let clients = admin.clients().await?;
    let listed: Vec<_> = clients.iter().map(metadata_of).collect();
    Ok(no_store(StatusCode::OK).json(listed))
}

async fn create_client(
    req: HttpRequest,
    caller: Caller,
    (access, admin): (web::Data<AdminAccess>, web::Data<Admin>),
    body: web::Json<ClientMetadata>,
) -> Result<HttpResponse, Problem> {
    let admin = operator(&req, &access, &admin, caller).await?;
    let created = admin
        .create_client(body.into_inner().into_new_client()?)
        .await?;
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
async fn update_client(
    req: HttpRequest,
    caller: Caller,
    (access, admin): (web::Data<AdminAccess>, web::Data<Admin>),
    (id, body): (web::Path<String>, web::Json<ClientMetadata>),
) -> Result<HttpResponse, Problem> {
    let admin = operator(&req, &access, &admin, caller).await?;
    let if_match = req
        .headers()
        .get("If-Match")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    let new = body.into_inner().into_new_client()?;
    let (client, etag) = admin.update_client(&id, new, if_match).await?;
    Ok(no_store(StatusCode::OK)
        .insert_header(("ETag", etag))
        .json(metadata_of(&client)))
}

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

async fn rotate_secret(
    req: HttpRequest,
    caller: Caller,
    (access, admin): (web::Data<AdminAccess>, web::Data<Admin>),
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let admin = operator(&req, &access, &admin, caller).await?;
    let secret = admin.rotate_client_secret(&id).await?;
    Ok(no_store(StatusCode::OK).json(json!({ "client_id": id.as_str(), "client_secret": secret })))
}

fn no_store(status: StatusCode) -> actix_web::HttpResponseBuilder {
    let mut builder = HttpResponse::build(status);
    builder.insert_header(("Cache-Control", "no-store"));
    builder
}
