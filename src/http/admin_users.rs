//! The admin API's users and roles: search users page by page, create one, read one,
//! disable (ending their sessions at once) and enable; list and create roles. The rules
//! live in the admin service (`admin::users`, `admin::roles`), shared with the CLI.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, put, web};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};

use super::admin::{Body, if_match, no_store, operator, read, reply};
use super::extract::Caller;
use super::problem::Problem;
use crate::accounts::User;
use crate::admin::Admin;
use crate::admin::access::AdminAccess;
use crate::admin::sessions::Oversight;
use crate::admin::users::{NewUser, UserChange};

type Services = (
    web::Data<AdminAccess>,
    web::Data<Admin>,
    web::Data<Oversight>,
);

/// The most users one page holds unless `limit` says fewer.
const PAGE: u64 = 50;

fn user_json(user: &User) -> Value {
    json!({
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "email_verified": user.email_verified,
        "disabled": user.disabled,
        "roles": user.roles,
        "updated_at": user.updated_at,
    })
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    /// Part of the email to look for.
    q: Option<String>,
    /// The `next` of the page before.
    cursor: Option<String>,
    limit: Option<u64>,
}

#[utoipa::path(tag = "users", params(PageQuery), responses(
    (status = 200, description = "A page of users by email, and `next`: the cursor of the next page, or null"),
))]
#[get("/users")]
pub(super) async fn list_users(
    req: HttpRequest,
    caller: Caller,
    (access, admin, _oversight): Services,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, Problem> {
    let admin = operator(&req, &access, &admin, caller).await?;
    let limit = query.limit.unwrap_or(PAGE);
    let users = admin
        .users_page(query.q.as_deref(), query.cursor.as_deref(), limit)
        .await?;
    let full = users.len() as u64 == limit;
    let next = users.last().filter(|_| full).map(|u| u.email.clone());
    let listed: Vec<Value> = users.iter().map(user_json).collect();
    Ok(reply(
        StatusCode::OK,
        &json!({ "users": listed, "next": next }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewUserBody {
    email: String,
    name: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[schema(value_type = String, format = Password)]
    password: SecretString,
}

#[utoipa::path(tag = "users", request_body = NewUserBody, responses(
    (status = 201, description = "Created, enabled, with a verified email"),
    (status = 400, description = "A value breaks a rule (the password policy among them)"),
    (status = 409, description = "The email is taken"),
))]
#[post("/users")]
pub(super) async fn create_user(
    req: HttpRequest,
    caller: Caller,
    (access, admin, _oversight): Services,
    body: Body<NewUserBody>,
) -> Result<HttpResponse, Problem> {
    let admin = operator(&req, &access, &admin, caller).await?;
    let body = read(body)?;
    let new = NewUser {
        email: body.email,
        name: body.name,
        roles: body.roles,
        password: body.password,
    };
    let user = admin.create_user(new).await?;
    Ok(reply(StatusCode::CREATED, &user_json(&user)))
}

#[utoipa::path(tag = "users", params(("id" = String, Path, description = "user id or email")),
    responses((status = 200, description = "The user"), (status = 404, description = "No such user")))]
#[get("/users/{id}")]
pub(super) async fn show_user(
    req: HttpRequest,
    caller: Caller,
    (access, admin, _oversight): Services,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let admin = operator(&req, &access, &admin, caller).await?;
    let (user, etag) = admin.user_versioned(&id).await?;
    Ok(no_store(StatusCode::OK)
        .insert_header(("ETag", etag))
        .json(user_json(&user)))
}

/// A change of a user's profile; fields left out stay as they are.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct UserChangeBody {
    name: Option<String>,
    email: Option<String>,
    /// Whether the (new) email is verified; an email an operator sets is, unless false.
    email_verified: Option<bool>,
}

/// Changes a user's name or email; `If-Match` must carry the `ETag` they were read with.
#[utoipa::path(tag = "users", request_body = UserChangeBody,
    params(("id" = String, Path, description = "user id or email")),
    responses(
        (status = 200, description = "Updated, with the new ETag"),
        (status = 409, description = "The new email is another user's"),
        (status = 412, description = "If-Match names a version that is no longer current"),
        (status = 428, description = "If-Match is missing"),
))]
#[patch("/users/{id}")]
pub(super) async fn update_user(
    req: HttpRequest,
    caller: Caller,
    (access, admin, _oversight): Services,
    (id, body): (web::Path<String>, Body<UserChangeBody>),
) -> Result<HttpResponse, Problem> {
    let admin = operator(&req, &access, &admin, caller).await?;
    let body = read(body)?;
    let change = UserChange {
        name: body.name,
        email: body.email,
        email_verified: body.email_verified,
    };
    let (user, etag) = admin.update_user(&id, change, if_match(&req)).await?;
    Ok(no_store(StatusCode::OK)
        .insert_header(("ETag", etag))
        .json(user_json(&user)))
}

#[utoipa::path(tag = "users", params(("id" = String, Path, description = "user id or email")),
    responses((status = 200, description = "Disabled: every session ended, refresh tokens refused")))]
#[post("/users/{id}/disable")]
pub(super) async fn disable_user(
    req: HttpRequest,
    caller: Caller,
    (access, admin, oversight): Services,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let admin = operator(&req, &access, &admin, caller).await?;
    let user = admin.disable(&id).await?;
    oversight.end_all_sessions(&user.id, &admin.origin).await?;
    Ok(reply(StatusCode::OK, &user_json(&user)))
}

#[utoipa::path(tag = "users", params(("id" = String, Path, description = "user id or email")),
    responses((status = 200, description = "Enabled: the user can sign in again")))]
#[post("/users/{id}/enable")]
pub(super) async fn enable_user(
    req: HttpRequest,
    caller: Caller,
    (access, admin, _oversight): Services,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let admin = operator(&req, &access, &admin, caller).await?;
    let user = admin.enable(&id).await?;
    Ok(reply(StatusCode::OK, &user_json(&user)))
}

#[utoipa::path(tag = "roles", responses((status = 200, description = "Every role, with how many hold it")))]
#[get("/roles")]
pub(super) async fn list_roles(
    req: HttpRequest,
    caller: Caller,
    (access, admin, _oversight): Services,
) -> Result<HttpResponse, Problem> {
    let admin = operator(&req, &access, &admin, caller).await?;
    let roles = admin.roles().await?;
    let listed: Vec<Value> = roles
        .iter()
        .map(|r| json!({ "name": r.name, "users": r.users }))
        .collect();
    Ok(reply(StatusCode::OK, &listed))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewRoleBody {
    name: String,
}

#[utoipa::path(tag = "roles", request_body = NewRoleBody, responses(
    (status = 201, description = "Created"),
    (status = 409, description = "It exists"),
))]
#[post("/roles")]
pub(super) async fn create_role(
    req: HttpRequest,
    caller: Caller,
    (access, admin, _oversight): Services,
    body: Body<NewRoleBody>,
) -> Result<HttpResponse, Problem> {
    let admin = operator(&req, &access, &admin, caller).await?;
    let role = admin.create_role(&read(body)?.name).await?;
    Ok(reply(
        StatusCode::CREATED,
        &json!({ "name": role.name, "users": role.users }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PasswordBody {
    #[schema(value_type = String, format = Password)]
    password: SecretString,
}

#[utoipa::path(tag = "users", request_body = PasswordBody,
    params(("id" = String, Path, description = "user id or email")),
    responses(
        (status = 204, description = "Set (the user's sessions stay: disable to lock out)"),
        (status = 400, description = "The password breaks the policy"),
))]
#[put("/users/{id}/password")]
pub(super) async fn set_password(
    req: HttpRequest,
    caller: Caller,
    (access, admin, _oversight): Services,
    (id, body): (web::Path<String>, Body<PasswordBody>),
) -> Result<HttpResponse, Problem> {
    let admin = operator(&req, &access, &admin, caller).await?;
    admin.set_password(&id, &read(body)?.password).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RoleBody {
    role: String,
}

#[utoipa::path(tag = "users", request_body = RoleBody,
    params(("id" = String, Path, description = "user id or email")),
    responses((status = 200, description = "The user, holding the role"), (status = 404, description = "No such user or role")))]
#[post("/users/{id}/roles")]
pub(super) async fn add_role(
    req: HttpRequest,
    caller: Caller,
    (access, admin, _oversight): Services,
    (id, body): (web::Path<String>, Body<RoleBody>),
) -> Result<HttpResponse, Problem> {
    let admin = operator(&req, &access, &admin, caller).await?;
    let user = admin.add_role(&id, &read(body)?.role).await?;
    Ok(reply(StatusCode::OK, &user_json(&user)))
}

#[utoipa::path(tag = "users",
    params(("id" = String, Path, description = "user id or email"), ("role" = String, Path, description = "role name")),
    responses((status = 200, description = "The user, without the role")))]
#[delete("/users/{id}/roles/{role}")]
pub(super) async fn remove_role(
    req: HttpRequest,
    caller: Caller,
    (access, admin, _oversight): Services,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let admin = operator(&req, &access, &admin, caller).await?;
    let (id, role) = path.into_inner();
    let user = admin.remove_role(&id, &role).await?;
    Ok(reply(StatusCode::OK, &user_json(&user)))
}

#[utoipa::path(tag = "users", params(("id" = String, Path, description = "user id or email")),
    responses(
        (status = 204, description = "Deleted: sessions ended, refresh tokens revoked, consents and factors gone"),
        (status = 404, description = "No such user"),
))]
#[delete("/users/{id}")]
pub(super) async fn delete_user(
    req: HttpRequest,
    caller: Caller,
    (access, admin, oversight): Services,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let admin = operator(&req, &access, &admin, caller).await?;
    let user = admin.user(&id).await?;
    oversight.delete_user(&user.id, &admin.origin).await?;
    Ok(HttpResponse::NoContent().finish())
}
