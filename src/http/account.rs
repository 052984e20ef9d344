//! The user's own account pages: sign-in, and the list of browser sessions to end.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::SecretString;
use serde::Deserialize;

use super::extract::{self, csrf_form_value, csrf_matches};
use super::login::{check_password, end_session, sign_in};
use super::views::{self, AccountLoginPage, SessionRow, SessionsPage};
use super::{paths, reply};
use crate::oauth::Error;
use crate::startup::Components;
use crate::{accounts, sessions};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::ACCOUNT_LOGIN, web::get().to(login_page))
        .route(paths::ACCOUNT_LOGIN, web::post().to(login_submit))
        .route(paths::ACCOUNT_SESSIONS, web::get().to(sessions_page))
        .route(paths::ACCOUNT_SESSIONS_END, web::post().to(end));
}

fn login_form(browser: &str, email: &str, error: Option<&str>) -> HttpResponse {
    let page = AccountLoginPage {
        action: paths::ACCOUNT_LOGIN,
        csrf: &csrf_form_value(browser),
        email,
        error,
    };
    views::render(StatusCode::OK, &page)
}

async fn login_page(req: HttpRequest, c: web::Data<Components>) -> HttpResponse {
    let (browser, new_cookie) = extract::browser_binding(&req, &c.settings);
    let mut response = login_form(&browser, "", None);
    if let Some(cookie) = new_cookie {
        let _ = response.add_cookie(&cookie);
    }
    response
}

#[derive(Deserialize)]
struct LoginForm {
    csrf: String,
    email: String,
    password: String,
}

fn form_expired() -> HttpResponse {
    views::error_page(
        StatusCode::FORBIDDEN,
        "Form expired",
        "Reload the page and try again.",
        None,
    )
}

/// The browser cookie, if the posted CSRF value matches it.
fn checked_browser(req: &HttpRequest, c: &Components, csrf: &str) -> Option<String> {
    let browser = extract::cookie(req, &extract::csrf_cookie_name(&c.settings))?;
    csrf_matches(&browser, csrf).then_some(browser)
}

#[tracing::instrument(skip_all)]
async fn login_submit(
    req: HttpRequest,
    form: web::Form<LoginForm>,
    c: web::Data<Components>,
) -> HttpResponse {
    let form = form.into_inner();
    let Some(browser) = checked_browser(&req, &c, &form.csrf) else {
        return form_expired();
    };
    let user = match check_password(&c, &form.email, &SecretString::from(form.password)).await {
        Ok(Some(user)) => user,
        Ok(None) => return login_form(&browser, &form.email, Some("Wrong email or password.")),
        Err(e) => return reply::error_page(&Error::Unexpected(e).classify()),
    };
    match sign_in(&req, &c, &user.id).await {
        Ok(cookie) => {
            let mut response = reply::see_other(paths::ACCOUNT_SESSIONS);
            let _ = response.add_cookie(&cookie);
            response
        }
        Err(e) => reply::error_page(&e),
    }
}

/// The signed-in user and the storage id of this browser's session.
async fn current(
    req: &HttpRequest,
    c: &Components,
) -> Result<Option<(accounts::User, String)>, Error> {
    let Some(cookie) = extract::cookie(req, &c.settings.sessions.cookie_name) else {
        return Ok(None);
    };
    let Some(session) = sessions::find(c.store.as_ref(), &cookie).await? else {
        return Ok(None);
    };
    let user = accounts::store::find_by_id(&c.db, &session.user_id).await?;
    Ok(user.map(|u| (u, sessions::id_of(&cookie))))
}

fn format_time(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M UTC").to_string())
}

async fn sessions_page(req: HttpRequest, c: web::Data<Components>) -> HttpResponse {
    let (user, current_id) = match current(&req, &c).await {
        Ok(Some(found)) => found,
        Ok(None) => return reply::see_other(paths::ACCOUNT_LOGIN),
        Err(e) => return reply::error_page(&e),
    };
    let listed = match sessions::list_for_user(c.store.as_ref(), &user.id).await {
        Ok(listed) => listed,
        Err(e) => return reply::error_page(&Error::Unexpected(e).classify()),
    };
    let rows = listed
        .into_iter()
        .map(|(id, s)| SessionRow {
            current: id == current_id,
            sid: s.sid,
            device: s.user_agent,
            ip: s.ip,
            created: format_time(s.created_at),
            last_seen: format_time(s.last_seen),
        })
        .collect();
    let (browser, new_cookie) = extract::browser_binding(&req, &c.settings);
    let page = SessionsPage {
        email: &user.email,
        end_action: paths::ACCOUNT_SESSIONS_END,
        csrf: &csrf_form_value(&browser),
        sessions: rows,
    };
    let mut response = views::render(StatusCode::OK, &page);
    if let Some(cookie) = new_cookie {
        let _ = response.add_cookie(&cookie);
    }
    response
}

#[derive(Deserialize)]
struct EndForm {
    csrf: String,
    sid: String,
}

/// Ends one of the user's own sessions (found by its public `sid`), with its tokens.
#[tracing::instrument(skip_all)]
async fn end(req: HttpRequest, form: web::Form<EndForm>, c: web::Data<Components>) -> HttpResponse {
    if checked_browser(&req, &c, &form.csrf).is_none() {
        return form_expired();
    }
    let (user, current_id) = match current(&req, &c).await {
        Ok(Some(found)) => found,
        Ok(None) => return reply::see_other(paths::ACCOUNT_LOGIN),
        Err(e) => return reply::error_page(&e),
    };
    let listed = match sessions::list_for_user(c.store.as_ref(), &user.id).await {
        Ok(listed) => listed,
        Err(e) => return reply::error_page(&Error::Unexpected(e).classify()),
    };
    let Some((id, _)) = listed.into_iter().find(|(_, s)| s.sid == form.sid) else {
        return reply::see_other(paths::ACCOUNT_SESSIONS);
    };
    if let Err(e) = end_session(&c, &id).await {
        return reply::error_page(&e);
    }
    let mut response = reply::see_other(paths::ACCOUNT_SESSIONS);
    if id == current_id {
        let _ = response.add_cookie(&extract::removal(
            &c.settings,
            &c.settings.sessions.cookie_name,
        ));
    }
    response
}
