//! The console's users: the search, creating one, and one user's page with the changes
//! that need no confirmation (roles, the password, enabling). The destructive ones are in
//! [`super::console_user_actions`].

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use secrecy::SecretString;
use serde::Deserialize;

use super::console::{DoneQuery, Plain, SignedInAdmin, done, fixable};
use super::error::PageError;
use super::extract::{CsrfForm, CsrfProtected};
use super::views::console_users::{NewUserPage, UserPage, UsersPage};
use super::views::{self};
use crate::admin::sessions::Oversight;
use crate::admin::users::NewUser;
use crate::paths::{self, fill};

/// Users a page of the search shows.
const PAGE: u64 = 50;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::CONSOLE_USERS, web::get().to(search))
        .route(paths::CONSOLE_USER_NEW, web::get().to(new_form))
        .route(paths::CONSOLE_USER_NEW, web::post().to(create))
        .route(paths::CONSOLE_USER, web::get().to(show))
        .route(paths::CONSOLE_USER_ROLE_ADD, web::post().to(add_role))
        .route(paths::CONSOLE_USER_ROLE_REMOVE, web::post().to(remove_role))
        .route(paths::CONSOLE_USER_PASSWORD, web::post().to(set_password))
        .route(paths::CONSOLE_USER_ENABLE, web::post().to(enable));
}

pub(super) fn user_href(id: &str) -> String {
    fill(paths::CONSOLE_USER, &[id])
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
    cursor: Option<String>,
    done: Option<String>,
}

async fn search(
    op: SignedInAdmin,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, PageError> {
    let q = query.q.trim();
    let search = Some(q).filter(|q| !q.is_empty());
    let cursor = query.cursor.as_deref().filter(|c| !c.is_empty());
    let users = op.admin.users_page(search, cursor, PAGE).await?;
    // A full page may have a next one: it starts after the last email shown.
    let next = users.last().filter(|_| users.len() as u64 == PAGE);
    let next = next.map(|u| u.email.as_str());
    let page = UsersPage::new(q, &users, next, query.done.as_deref());
    Ok(views::render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
struct NewUserForm {
    csrf: String,
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    roles: String,
    password: SecretString,
}

impl CsrfProtected for NewUserForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

fn new_user_page(
    op: &SignedInAdmin,
    typed: Option<&NewUserForm>,
    error: Option<&str>,
) -> HttpResponse {
    let field = |f: fn(&NewUserForm) -> &str| typed.map(f).unwrap_or_default();
    let page = NewUserPage {
        csrf: &op.csrf,
        action: paths::CONSOLE_USER_NEW,
        email: field(|t| &t.email),
        name: field(|t| &t.name),
        roles: field(|t| &t.roles),
        error,
    };
    let status = match error {
        Some(_) => StatusCode::BAD_REQUEST,
        None => StatusCode::OK,
    };
    views::render(status, &page)
}

async fn new_form(op: SignedInAdmin) -> HttpResponse {
    new_user_page(&op, None, None)
}

#[tracing::instrument(skip_all)]
async fn create(
    op: SignedInAdmin,
    CsrfForm { form, .. }: CsrfForm<NewUserForm>,
) -> Result<HttpResponse, PageError> {
    let roles = form.roles.split([' ', ',']).filter(|r| !r.is_empty());
    let new = NewUser {
        email: form.email.clone(),
        name: Some(form.name.trim())
            .filter(|n| !n.is_empty())
            .map(str::to_owned),
        roles: roles.map(str::to_owned).collect(),
        password: form.password.clone(),
    };
    match op.admin.create_user(new).await {
        Ok(user) => Ok(done(&user_href(&user.id), "user")),
        Err(refused) => {
            let error = fixable(refused)?;
            Ok(new_user_page(&op, Some(&form), Some(&error)))
        }
    }
}

/// The user's page, with a confirmation (`done`) or a refused form's `error`.
pub(super) async fn user_page(
    op: &SignedInAdmin,
    oversight: &Oversight,
    id: &str,
    (done, error): (Option<&str>, Option<&str>),
) -> Result<HttpResponse, PageError> {
    let seen = oversight.overview(&op.admin, id).await?;
    let status = match error {
        Some(_) => StatusCode::BAD_REQUEST,
        None => StatusCode::OK,
    };
    Ok(views::render(
        status,
        &UserPage::new(&op.csrf, seen, done, error),
    ))
}

async fn show(
    op: SignedInAdmin,
    id: web::Path<String>,
    (query, oversight): (web::Query<DoneQuery>, web::Data<Oversight>),
) -> Result<HttpResponse, PageError> {
    user_page(&op, &oversight, &id, (query.done.as_deref(), None)).await
}

#[derive(Deserialize)]
struct RoleForm {
    csrf: String,
    role: String,
}

impl CsrfProtected for RoleForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[tracing::instrument(skip_all)]
async fn add_role(
    op: SignedInAdmin,
    id: web::Path<String>,
    CsrfForm { form, .. }: CsrfForm<RoleForm>,
) -> Result<HttpResponse, PageError> {
    let user = op.admin.add_role(&id, &form.role).await?;
    Ok(done(&user_href(&user.id), "roles"))
}

#[tracing::instrument(skip_all)]
async fn remove_role(
    op: SignedInAdmin,
    id: web::Path<String>,
    CsrfForm { form, .. }: CsrfForm<RoleForm>,
) -> Result<HttpResponse, PageError> {
    let user = op.admin.remove_role(&id, &form.role).await?;
    Ok(done(&user_href(&user.id), "roles"))
}

#[derive(Deserialize)]
struct PasswordForm {
    csrf: String,
    password: SecretString,
}

impl CsrfProtected for PasswordForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Sets the password; one the policy refuses is shown on the user's page, saying why.
#[tracing::instrument(skip_all)]
async fn set_password(
    op: SignedInAdmin,
    id: web::Path<String>,
    (CsrfForm { form, .. }, oversight): (CsrfForm<PasswordForm>, web::Data<Oversight>),
) -> Result<HttpResponse, PageError> {
    match op.admin.set_password(&id, &form.password).await {
        Ok(user) => Ok(done(&user_href(&user.id), "password")),
        Err(refused) => {
            let error = fixable(refused)?;
            user_page(&op, &oversight, &id, (None, Some(&error))).await
        }
    }
}

#[tracing::instrument(skip_all)]
async fn enable(
    op: SignedInAdmin,
    id: web::Path<String>,
    _form: CsrfForm<Plain>,
) -> Result<HttpResponse, PageError> {
    let user = op.admin.enable(&id).await?;
    Ok(done(&user_href(&user.id), "enabled"))
}
