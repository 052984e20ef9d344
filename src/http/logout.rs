//! RP-Initiated Logout 1.0 at the `end_session_endpoint`: the rules are `oidc::logout`'s;
//! this renders their outcome (a redirect, a confirmation page, or "signed out").

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::cookies::{CookiePolicy, with_cookie};
use super::error::PageError;
use super::extract::{BrowserBinding, Caller, CsrfForm, CsrfProtected, SessionCookie};
use super::reply;
use super::views::{self, LogoutConfirmPage, MessagePage};
use crate::audit::Origin;
use crate::federation::Federation;
use crate::oauth::Error;
use crate::oauth::authorize::Params;
use crate::oidc::logout::{LogoutRequest, LogoutStep, RpLogout, Target};
use crate::paths;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::LOGOUT, web::get().to(logout_get))
        .route(paths::LOGOUT, web::post().to(logout_post))
        .route(paths::LOGOUT_CONFIRM, web::post().to(confirm));
}

async fn logout_get(
    query: web::Query<Vec<(String, String)>>,
    (session, binding, caller): (SessionCookie, BrowserBinding, Caller),
    services: (
        web::Data<RpLogout>,
        web::Data<CookiePolicy>,
        web::Data<Federation>,
    ),
) -> Result<HttpResponse, PageError> {
    let params = Params::new(query.into_inner());
    answer(&params, session, binding, services, &caller.0).await
}

async fn logout_post(
    form: web::Form<Vec<(String, String)>>,
    (session, binding, caller): (SessionCookie, BrowserBinding, Caller),
    services: (
        web::Data<RpLogout>,
        web::Data<CookiePolicy>,
        web::Data<Federation>,
    ),
) -> Result<HttpResponse, PageError> {
    let params = Params::new(form.into_inner());
    answer(&params, session, binding, services, &caller.0).await
}

#[tracing::instrument(skip_all)]
async fn answer(
    params: &Params,
    session: SessionCookie,
    binding: BrowserBinding,
    (logout, policy, federation): (
        web::Data<RpLogout>,
        web::Data<CookiePolicy>,
        web::Data<Federation>,
    ),
    origin: &Origin,
) -> Result<HttpResponse, PageError> {
    if let Some(name) = params.first_duplicate() {
        let error = Error::invalid_request(format!("parameter {name} is repeated"));
        return Err(PageError::SignOut(error));
    }
    let request = LogoutRequest {
        id_token_hint: params.get("id_token_hint"),
        client_id: params.get("client_id"),
        post_logout_redirect_uri: params.get("post_logout_redirect_uri"),
        state: params.get("state"),
    };
    let step = logout
        .request(&request, session.0.as_deref(), origin)
        .await
        .map_err(PageError::SignOut)?;
    Ok(match step {
        LogoutStep::SignedOut { target, ended } => {
            finish(&target, ended.then_some(&**policy), &federation).await
        }
        LogoutStep::Confirm(target) => confirmation(&binding.csrf, &target),
    })
}

fn confirmation(csrf: &str, target: &Target) -> HttpResponse {
    let page = LogoutConfirmPage {
        action: paths::LOGOUT_CONFIRM,
        csrf,
        client_name: target.client.as_ref().map(|cl| cl.name.as_str()),
        client_id: target.client.as_ref().map_or("", |cl| cl.id.as_str()),
        redirect: target.redirect.as_deref().unwrap_or_default(),
        state: target.state.as_deref().unwrap_or_default(),
    };
    views::render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
struct ConfirmForm {
    csrf: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    post_logout_redirect_uri: String,
    #[serde(default)]
    state: String,
}

impl CsrfProtected for ConfirmForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The user confirmed: end this browser's session, then go where the RP asked.
async fn confirm(
    CsrfForm { form, .. }: CsrfForm<ConfirmForm>,
    session: SessionCookie,
    caller: Caller,
    (logout, policy, federation): (
        web::Data<RpLogout>,
        web::Data<CookiePolicy>,
        web::Data<Federation>,
    ),
) -> Result<HttpResponse, PageError> {
    fn non_empty(v: &str) -> Option<&str> {
        Some(v).filter(|v| !v.is_empty())
    }
    let request = LogoutRequest {
        id_token_hint: None,
        client_id: non_empty(&form.client_id),
        post_logout_redirect_uri: non_empty(&form.post_logout_redirect_uri),
        state: non_empty(&form.state),
    };
    let target = logout
        .confirm(&request, session.0.as_deref(), &caller.0)
        .await
        .map_err(PageError::SignOut)?;
    Ok(finish(&target, Some(&policy), &federation).await)
}

/// Redirects to the registered URI (with `state`), or says the user is signed out; with a
/// policy, the session cookie goes too. A session signed in at an upstream provider set up
/// for it is signed out there first, and comes back to the same place after.
async fn finish(
    target: &Target,
    clear: Option<&CookiePolicy>,
    federation: &Federation,
) -> HttpResponse {
    let after = after_url(target);
    let upstream = match (&target.idp, clear) {
        (Some(idp), Some(_)) => federation.upstream_logout(idp, after.clone()).await,
        _ => None,
    };
    let response = match (upstream, after) {
        (Some(url), _) => reply::found(url.as_str()),
        (None, Some(url)) => reply::found(&url),
        (None, None) => signed_out_page(),
    };
    match clear {
        Some(policy) => with_cookie(response, &policy.session_removal()),
        None => response,
    }
}

/// The registered post-logout URI with the RP's `state`, if it asked for one.
fn after_url(target: &Target) -> Option<String> {
    let mut url = url::Url::parse(target.redirect.as_deref()?).ok()?;
    if let Some(state) = &target.state {
        url.query_pairs_mut().append_pair("state", state);
    }
    Some(url.to_string())
}

pub(super) fn signed_out_page() -> HttpResponse {
    views::render(
        StatusCode::OK,
        &MessagePage {
            title: "Signed out",
            message: "You have been signed out.",
        },
    )
}
