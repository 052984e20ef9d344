//! The admin console (`/admin`): server-rendered pages over the admin service for a user
//! holding the admin role, signed in with the browser. It adds no rules of its own: each
//! handler reads a form, makes one call into `admin`, and renders the answer. Signed out,
//! a page sends the browser to sign in and back; without the role it is a 403 page. Every
//! change is a POST carrying the CSRF value, and destructive ones go through a confirm page.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::error::PageError;
use super::extract::{BrowserBinding, Caller, CsrfForm, CsrfProtected, MaybeUser};
use super::reply;
use super::views::{self, console::HomePage, console::KeysPage, console::RolesPage};
use super::{console_audit, console_clients, console_user_actions, console_users};
use crate::admin::access::ADMIN_ROLE;
use crate::admin::{Admin, AdminError};
use crate::keys::KeyRing;
use crate::oidc::session::SignedIn;
use crate::paths;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::CONSOLE, web::get().to(home))
        .route(paths::CONSOLE_ROLES, web::get().to(roles))
        .route(paths::CONSOLE_ROLES, web::post().to(create_role))
        .route(paths::CONSOLE_KEYS, web::get().to(keys));
    console_clients::configure(cfg);
    console_users::configure(cfg);
    console_user_actions::configure(cfg);
    console_audit::configure(cfg);
}

/// A signed-in user with the admin role, and the admin service acting for them (so the
/// audit log records `by: user:<id>` and where the request came from).
pub struct SignedInAdmin {
    pub me: SignedIn,
    pub admin: Admin,
    /// The CSRF value for the page's forms.
    pub csrf: String,
}

impl FromRequest for SignedInAdmin {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let maybe = MaybeUser::from_request(req, payload);
        let binding = BrowserBinding::from_request(req, payload).into_inner();
        let caller = Caller::from_request(req, payload).into_inner();
        let admin = web::Data::<Admin>::extract(req).into_inner();
        let next = come_back_to(req);
        Box::pin(async move {
            let Some(me) = maybe.await?.0 else {
                return Err(PageError::SignInFirst(next).into());
            };
            if !me.user.roles.iter().any(|role| role == ADMIN_ROLE) {
                return Err(PageError::AdminsOnly.into());
            }
            let by = format!("user:{}", me.user.id);
            let admin = admin?.acting_for(caller?.0, &by);
            let csrf = binding?.csrf;
            Ok(Self { me, admin, csrf })
        })
    }
}

/// Where to come back to after signing in: the page asked for, or (after a form post,
/// which cannot be repeated by a redirect) the console's start.
fn come_back_to(req: &HttpRequest) -> String {
    let asked = req.uri().path_and_query().map(|p| p.as_str());
    match (req.method() == actix_web::http::Method::GET, asked) {
        (true, Some(asked)) => super::account::local(asked).unwrap_or(paths::CONSOLE),
        _ => paths::CONSOLE,
    }
    .to_owned()
}

/// What the operator can fix by changing the form (a value breaking a rule, a name taken,
/// a version changed meanwhile), in words to show beside it; anything else is the error page.
pub(super) fn fixable(error: AdminError) -> Result<String, PageError> {
    match error {
        AdminError::Invalid { .. }
        | AdminError::Conflict(_)
        | AdminError::NotFound { what: "role", .. } => Ok(error.to_string()),
        other => Err(other.into()),
    }
}

/// The page at `path` confirming `what` (a key of [`views::console::notice`]).
pub(super) fn done(path: &str, what: &str) -> HttpResponse {
    reply::see_other(&format!("{path}?done={what}"))
}

/// A console form's fields besides its own: the CSRF value.
#[derive(Deserialize)]
pub(super) struct Plain {
    csrf: String,
}

impl CsrfProtected for Plain {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[derive(Deserialize)]
pub(super) struct DoneQuery {
    pub done: Option<String>,
}

async fn home(op: SignedInAdmin) -> HttpResponse {
    views::render(StatusCode::OK, &HomePage::new(&op.me.user.email))
}

async fn roles(op: SignedInAdmin, query: web::Query<DoneQuery>) -> Result<HttpResponse, PageError> {
    let roles = op.admin.roles().await?;
    let page = RolesPage::new(&op.csrf, roles, query.done.as_deref(), None);
    Ok(views::render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
struct RoleForm {
    csrf: String,
    name: String,
}

impl CsrfProtected for RoleForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[tracing::instrument(skip_all)]
async fn create_role(
    op: SignedInAdmin,
    CsrfForm { form, .. }: CsrfForm<RoleForm>,
) -> Result<HttpResponse, PageError> {
    let error = match op.admin.create_role(form.name.trim()).await {
        Ok(_) => return Ok(done(paths::CONSOLE_ROLES, "role")),
        Err(refused) => fixable(refused)?,
    };
    let roles = op.admin.roles().await?;
    let page = RolesPage::new(&op.csrf, roles, None, Some(&error));
    Ok(views::render(StatusCode::BAD_REQUEST, &page))
}

async fn keys(_op: SignedInAdmin, keys: web::Data<KeyRing>) -> HttpResponse {
    views::render(StatusCode::OK, &KeysPage::new(&keys.published()))
}
