//! The login and consent pages of a pending authorization request.

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::SecretString;
use serde::Deserialize;

use super::extract::{self, csrf_cookie_name, csrf_form_value, csrf_matches};
use super::views::{self, ConsentPage, LoginPage};
use super::{paths, reply};
use crate::accounts::{self, Email};
use crate::oauth::Error;
use crate::oauth::authorize::{self, Pending};
use crate::startup::Components;
use crate::{consent, sessions};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::LOGIN, web::get().to(login_page))
        .route(paths::LOGIN, web::post().to(login_submit))
        .route(paths::CONSENT, web::get().to(consent_page))
        .route(paths::CONSENT, web::post().to(consent_submit));
}

#[derive(Deserialize)]
struct PageQuery {
    request: String,
}

/// The browser's binding cookie and the pending request it may continue.
async fn pending_for(
    req: &HttpRequest,
    c: &Components,
    id: &str,
) -> Result<(String, Pending), HttpResponse> {
    let browser =
        extract::cookie(req, &csrf_cookie_name(&c.settings)).ok_or_else(reply::expired_page)?;
    match authorize::load_pending(c.store.as_ref(), id, &browser).await {
        Ok(Some(pending)) => Ok((browser, pending)),
        Ok(None) => Err(reply::expired_page()),
        Err(e) => Err(reply::error_page(&Error::Unexpected(e).classify())),
    }
}

/// Like [`pending_for`], for a form post: the CSRF value must match the browser cookie.
async fn submitted_for(
    req: &HttpRequest,
    c: &Components,
    id: &str,
    csrf: &str,
) -> Result<(String, Pending), HttpResponse> {
    let (browser, pending) = pending_for(req, c, id).await?;
    if !csrf_matches(&browser, csrf) {
        let (title, message) = ("Form expired", "Reload the page and try again.");
        return Err(views::error_page(
            StatusCode::FORBIDDEN,
            title,
            message,
            None,
        ));
    }
    Ok((browser, pending))
}

async fn login_page(
    req: HttpRequest,
    query: web::Query<PageQuery>,
    c: web::Data<Components>,
) -> HttpResponse {
    let (browser, pending) = match pending_for(&req, &c, &query.request).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let hint = pending.request.login_hint.clone().unwrap_or_default();
    render_login(
        &pending,
        &query.request,
        &browser,
        &hint,
        None,
        StatusCode::OK,
    )
}

fn render_login(
    pending: &Pending,
    id: &str,
    browser: &str,
    email: &str,
    error: Option<&str>,
    status: StatusCode,
) -> HttpResponse {
    let page = LoginPage {
        action: paths::LOGIN,
        client_name: &pending.client_name,
        request_id: id,
        csrf: &csrf_form_value(browser),
        email,
        error,
    };
    views::render(status, &page)
}

#[derive(Deserialize)]
struct LoginForm {
    request: String,
    csrf: String,
    email: String,
    password: String,
}

#[tracing::instrument(skip_all)]
async fn login_submit(
    req: HttpRequest,
    form: web::Form<LoginForm>,
    c: web::Data<Components>,
) -> HttpResponse {
    let form = form.into_inner();
    let (browser, mut pending) = match submitted_for(&req, &c, &form.request, &form.csrf).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let password = SecretString::from(form.password);
    let user = match check_password(&c, &form.email, &password).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            tracing::info!("sign-in failed");
            let message = "Wrong email or password.";
            return render_login(
                &pending,
                &form.request,
                &browser,
                &form.email,
                Some(message),
                StatusCode::OK,
            );
        }
        Err(e) => return reply::error_page(&Error::Unexpected(e).classify()),
    };
    let cookie = match sign_in(&req, &c, &user.id).await {
        Ok(cookie) => cookie,
        Err(e) => return reply::error_page(&e),
    };
    tracing::info!(user_id = %user.id, "signed in");
    pending.fresh_login = true;
    if let Err(e) = authorize::update_pending(c.store.as_ref(), &form.request, &pending).await {
        return reply::error_page(&Error::Unexpected(e).classify());
    }
    let mut response = reply::see_other(&format!(
        "{}?request={}",
        paths::AUTHORIZE_RESUME,
        form.request
    ));
    let _ = response.add_cookie(&cookie);
    response
}

/// Starts the browser session after a correct password and returns its cookie. The same
/// user's existing session continues (same `sid`); another user's is ended first.
pub(super) async fn sign_in(
    req: &HttpRequest,
    c: &Components,
    user_id: &str,
) -> Result<Cookie<'static>, Error> {
    let name = c.settings.sessions.cookie_name.clone();
    let previous = match extract::cookie(req, &name) {
        Some(old) => sessions::find(c.store.as_ref(), &old)
            .await?
            .map(|s| (old, s)),
        None => None,
    };
    let continuing = match previous {
        Some((old, session)) if session.user_id == user_id => {
            sessions::remove(c.store.as_ref(), &sessions::id_of(&old)).await?;
            Some(session)
        }
        Some((old, _)) => {
            end_session(c, &sessions::id_of(&old)).await?;
            None
        }
        None => None,
    };
    let agent = extract::user_agent(req);
    let ip = extract::peer_ip(req);
    let at = sessions::LoginContext {
        user_agent: &agent,
        ip: &ip,
        continuing: continuing.as_ref(),
    };
    let ttl = std::time::Duration::from_secs(c.settings.sessions.ttl_secs as u64);
    let (value, _) = sessions::start(c.store.as_ref(), user_id, &at, ttl).await?;
    Ok(extract::cookie_for(&c.settings, &name, value, c.settings.sessions.ttl_secs).into_owned())
}

/// Ends a session everywhere: tokens bound to it, and clients told by back-channel.
pub(super) async fn end_session(
    c: &Components,
    id: &str,
) -> Result<Option<sessions::Session>, Error> {
    let ending = crate::oidc::logout::Ending {
        db: &c.db,
        store: c.store.as_ref(),
        notifier: &c.notifier,
        family_ttl: std::time::Duration::from_secs(
            c.settings.tokens.refresh_token_max_ttl_secs as u64,
        ),
    };
    Ok(crate::oidc::logout::end_session(&ending, id).await?)
}

/// The user for a correct email and password; `None` otherwise, in the same time either way.
pub(super) async fn check_password(
    c: &Components,
    email: &str,
    password: &SecretString,
) -> anyhow::Result<Option<accounts::User>> {
    let credentials = match Email::parse(email) {
        Some(email) => accounts::store::find_by_email(&c.db, &email).await?,
        None => None,
    };
    let stored = credentials.as_ref().map(|c| c.password_hash.as_str());
    let matches = c.passwords.verify(password, stored).await?;
    Ok(credentials
        .filter(|c| matches && !c.user.disabled)
        .map(|c| c.user))
}

async fn consent_page(
    req: HttpRequest,
    query: web::Query<PageQuery>,
    c: web::Data<Components>,
) -> HttpResponse {
    let (browser, pending) = match pending_for(&req, &c, &query.request).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let user = match signed_in_user(&req, &c).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            return reply::see_other(&format!("{}?request={}", paths::LOGIN, query.request));
        }
        Err(e) => return reply::error_page(&e),
    };
    let page = ConsentPage {
        action: paths::CONSENT,
        client_name: &pending.client_name,
        request_id: &query.request,
        csrf: &csrf_form_value(&browser),
        user_email: &user.email,
        scope_lines: pending
            .request
            .scope
            .iter()
            .map(views::describe_scope)
            .collect(),
    };
    views::render(StatusCode::OK, &page)
}

async fn signed_in_user(
    req: &HttpRequest,
    c: &Components,
) -> Result<Option<accounts::User>, Error> {
    let Some(cookie) = extract::cookie(req, &c.settings.sessions.cookie_name) else {
        return Ok(None);
    };
    let Some(session) = sessions::find(c.store.as_ref(), &cookie).await? else {
        return Ok(None);
    };
    Ok(accounts::store::find_by_id(&c.db, &session.user_id).await?)
}

#[derive(Deserialize)]
struct ConsentForm {
    request: String,
    csrf: String,
    decision: String,
}

#[tracing::instrument(skip_all)]
async fn consent_submit(
    req: HttpRequest,
    form: web::Form<ConsentForm>,
    c: web::Data<Components>,
) -> HttpResponse {
    let (_, mut pending) = match submitted_for(&req, &c, &form.request, &form.csrf).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let user = match signed_in_user(&req, &c).await {
        Ok(Some(user)) => user,
        Ok(None) => return reply::see_other(&format!("{}?request={}", paths::LOGIN, form.request)),
        Err(e) => return reply::error_page(&e),
    };
    if form.decision != "allow" {
        let _ = authorize::drop_pending(c.store.as_ref(), &form.request).await;
        let denied = Error::AccessDenied("the user denied the request".into());
        return reply::to_client_error(&c.issuer, &pending.request.reply, &denied);
    }
    let request = &pending.request;
    if let Err(e) = consent::remember(&c.db, &user.id, &request.client_id, &request.scope).await {
        return reply::error_page(&Error::Unexpected(e).classify());
    }
    pending.consent_given = true;
    if let Err(e) = authorize::update_pending(c.store.as_ref(), &form.request, &pending).await {
        return reply::error_page(&Error::Unexpected(e).classify());
    }
    reply::see_other(&format!(
        "{}?request={}",
        paths::AUTHORIZE_RESUME,
        form.request
    ))
}
