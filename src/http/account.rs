//! The user's own account pages: sign-in, and the list of browser sessions to end.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use secrecy::SecretString;
use serde::Deserialize;

use super::cookies::{CookiePolicy, with_cookie};
use super::error::PageError;
use super::extract::{
    BrowserBinding, Caller, CsrfForm, CsrfProtected, CurrentUser, DeviceCookie, SessionCookie,
};
use super::reply;
use super::views::{self, AccountLoginPage, ActivityRow, SessionRow, SessionsPage};
use crate::accounts::Credentials;
use crate::oidc::session::{PasswordBrowser, SignOn};
use crate::paths;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::ACCOUNT_LOGIN, web::get().to(login_page))
        .route(paths::ACCOUNT_LOGIN, web::post().to(login_submit))
        .route(paths::ACCOUNT_SESSIONS, web::get().to(sessions_page))
        .route(paths::ACCOUNT_SESSIONS_END, web::post().to(end));
}

fn login_form(csrf: &str, email: &str, error: Option<&str>) -> HttpResponse {
    let page = AccountLoginPage {
        action: paths::ACCOUNT_LOGIN,
        csrf,
        email,
        error,
        signup: true,
        register_href: paths::REGISTER,
        forgot_href: paths::PASSWORD_FORGOT,
    };
    views::render(StatusCode::OK, &page)
}

async fn login_page(binding: BrowserBinding) -> HttpResponse {
    login_form(&binding.csrf, "", None)
}

#[derive(Deserialize)]
struct LoginForm {
    csrf: String,
    email: String,
    password: String,
}

impl CsrfProtected for LoginForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[tracing::instrument(skip_all)]
async fn login_submit(
    CsrfForm { form, binding }: CsrfForm<LoginForm>,
    (session, device, caller): (SessionCookie, DeviceCookie, Caller),
    sign_on: web::Data<SignOn>,
    policy: web::Data<CookiePolicy>,
) -> Result<HttpResponse, PageError> {
    let credentials = Credentials {
        email: form.email.clone(),
        password: SecretString::from(form.password),
    };
    let browser = PasswordBrowser {
        session: session.0.as_deref(),
        device_token: device.0.as_deref(),
    };
    let signed_in = sign_on
        .sign_in_with_password(browser, &credentials, &caller.0)
        .await?;
    Ok(match signed_in {
        Some(done) => {
            let response = reply::see_other(paths::ACCOUNT_SESSIONS);
            let response = with_cookie(response, &policy.session(done.cookie));
            with_cookie(response, &policy.device(done.device_token))
        }
        None => login_form(&binding.csrf, &form.email, Some("Wrong email or password.")),
    })
}

fn format_time(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M UTC").to_string())
}

fn activity_rows(events: Vec<crate::audit::Recorded>) -> Vec<ActivityRow> {
    let row = |e: crate::audit::Recorded| ActivityRow {
        what: views::describe_event(&e.kind, &e.detail),
        when: format_time(e.at / 1000),
        ip: e.ip,
    };
    events.into_iter().map(row).collect()
}

async fn sessions_page(
    CurrentUser(me): CurrentUser,
    binding: BrowserBinding,
    sign_on: web::Data<SignOn>,
) -> Result<HttpResponse, PageError> {
    let rows = sign_on
        .list(&me.user.id)
        .await?
        .into_iter()
        .map(|(id, s)| SessionRow {
            current: id == me.session_id,
            sid: s.sid,
            device: s.user_agent,
            ip: s.ip,
            created: format_time(s.created_at),
            last_seen: format_time(s.last_seen),
        })
        .collect();
    let activity = activity_rows(sign_on.recent_activity(&me.user.id).await?);
    let page = SessionsPage {
        email: &me.user.email,
        end_action: paths::ACCOUNT_SESSIONS_END,
        csrf: &binding.csrf,
        sessions: rows,
        activity,
    };
    Ok(views::render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
struct EndForm {
    csrf: String,
    sid: String,
}

impl CsrfProtected for EndForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Ends one of the user's own sessions (found by its public `sid`), with its tokens.
#[tracing::instrument(skip_all)]
async fn end(
    CsrfForm { form, .. }: CsrfForm<EndForm>,
    CurrentUser(me): CurrentUser,
    caller: Caller,
    sign_on: web::Data<SignOn>,
    policy: web::Data<CookiePolicy>,
) -> Result<HttpResponse, PageError> {
    let ended = sign_on.end_own(&me.user.id, &form.sid, &caller.0).await?;
    let response = reply::see_other(paths::ACCOUNT_SESSIONS);
    Ok(match ended {
        Some(id) if id == me.session_id => with_cookie(response, &policy.session_removal()),
        _ => response,
    })
}
