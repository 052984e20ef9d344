//! `/authorize` (GET and POST) and its resumption after the login and consent pages.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::extract::{self, csrf_cookie_name};
use super::{paths, reply};
use crate::oauth::Error;
use crate::oauth::authorize::{self, Next, Params, Pending, Rejection};
use crate::startup::Components;
use crate::{consent, random, sessions};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::AUTHORIZE, web::get().to(authorize_get))
        .route(paths::AUTHORIZE, web::post().to(authorize_post))
        .route(paths::AUTHORIZE_RESUME, web::get().to(resume));
}

#[tracing::instrument(skip_all)]
async fn authorize_get(
    req: HttpRequest,
    query: web::Query<Vec<(String, String)>>,
    c: web::Data<Components>,
) -> HttpResponse {
    start(&req, Params::new(query.into_inner()), &c).await
}

#[tracing::instrument(skip_all)]
async fn authorize_post(
    req: HttpRequest,
    form: web::Form<Vec<(String, String)>>,
    c: web::Data<Components>,
) -> HttpResponse {
    start(&req, Params::new(form.into_inner()), &c).await
}

async fn start(req: &HttpRequest, params: Params, c: &Components) -> HttpResponse {
    let (request, client) = match authorize::request::validate(&c.db, &c.clients, &params).await {
        Ok(valid) => valid,
        Err(Rejection::Page(e)) => return reply::error_page(&e),
        Err(Rejection::Redirect(to, e)) => return reply::to_client_error(&c.issuer, &to, &e),
    };
    tracing::debug!(client_id = %client.id, "authorization request accepted");
    let (browser, new_cookie) = extract::browser_binding(req, &c.settings);
    let pending = Pending {
        request,
        client_name: client.name.clone(),
        browser: random::digest(&browser),
        fresh_login: false,
        consent_given: false,
    };
    let mut response = proceed(req, c, pending, None).await;
    if let Some(cookie) = new_cookie {
        let _ = response.add_cookie(&cookie);
    }
    response
}

#[derive(Deserialize)]
struct ResumeQuery {
    request: String,
}

/// Continues a pending request after the login or consent page.
async fn resume(
    req: HttpRequest,
    query: web::Query<ResumeQuery>,
    c: web::Data<Components>,
) -> HttpResponse {
    let Some(browser) = extract::cookie(&req, &csrf_cookie_name(&c.settings)) else {
        return reply::expired_page();
    };
    match authorize::load_pending(c.store.as_ref(), &query.request, &browser).await {
        Ok(Some(pending)) => proceed(&req, &c, pending, Some(query.request.clone())).await,
        Ok(None) => reply::expired_page(),
        Err(e) => reply::error_page(&Error::Unexpected(e).classify()),
    }
}

/// Asks for login or consent, or issues the code, as `authorize::decide` says.
async fn proceed(
    req: &HttpRequest,
    c: &Components,
    pending: Pending,
    id: Option<String>,
) -> HttpResponse {
    match decide(req, c, &pending).await {
        Ok((Next::Issue, Some(session))) => {
            let ttl = std::time::Duration::from_secs(
                c.settings.tokens.authorization_code_ttl_secs as u64,
            );
            let issued =
                authorize::issue_code(c.store.as_ref(), &pending.request, &session, ttl).await;
            if let Some(id) = &id {
                let _ = authorize::drop_pending(c.store.as_ref(), id).await;
            }
            match issued {
                Ok(code) => reply::to_client_code(&c.issuer, &pending.request.reply, &code),
                Err(e) => reply::error_page(&e),
            }
        }
        Ok((Next::Fail(e), _)) => {
            if let Some(id) = &id {
                let _ = authorize::drop_pending(c.store.as_ref(), id).await;
            }
            reply::to_client_error(&c.issuer, &pending.request.reply, &e)
        }
        Ok((next, _)) => {
            let page = if matches!(next, Next::Consent) {
                paths::CONSENT
            } else {
                paths::LOGIN
            };
            let saved = match &id {
                Some(id) => authorize::update_pending(c.store.as_ref(), id, &pending)
                    .await
                    .map(|()| id.clone()),
                None => authorize::save_pending(c.store.as_ref(), &pending).await,
            };
            match saved {
                Ok(id) => reply::see_other(&format!("{page}?request={id}")),
                Err(e) => reply::error_page(&Error::Unexpected(e).classify()),
            }
        }
        Err(e) => reply::error_page(&e),
    }
}

async fn decide(
    req: &HttpRequest,
    c: &Components,
    pending: &Pending,
) -> Result<(Next, Option<sessions::Session>), Error> {
    let session = match extract::cookie(req, &c.settings.sessions.cookie_name) {
        Some(cookie) => match sessions::find(c.store.as_ref(), &cookie).await? {
            Some(session) => {
                sessions::touch(c.store.as_ref(), &cookie, &session).await?;
                Some(session)
            }
            None => None,
        },
        None => None,
    };
    let client = c
        .clients
        .get(&c.db, &pending.request.client_id)
        .await?
        .ok_or_else(|| Error::invalid_request("the client no longer exists"))?;
    let consented = match (&session, client.require_consent) {
        (_, false) => true,
        (Some(s), true) => {
            consent::covers(&c.db, &s.user_id, &client.id, &pending.request.scope).await?
        }
        (None, true) => false,
    };
    let now = chrono::Utc::now().timestamp();
    Ok((
        authorize::decide(pending, session.as_ref(), consented, now),
        session,
    ))
}

/// Errors for pages reached by navigation.
pub fn page_status(e: &Error) -> StatusCode {
    match e {
        Error::TemporarilyUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        Error::Unexpected(cause) if crate::oauth::error::is_outage(cause) => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        Error::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}
