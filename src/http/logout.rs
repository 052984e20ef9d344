//! RP-Initiated Logout 1.0 at the `end_session_endpoint`: a request tied to the current
//! session (by `id_token_hint`) ends it at once; anything else asks the user first.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::extract::{self, csrf_form_value, csrf_matches};
use super::login::end_session;
use super::views::{self, LogoutConfirmPage, MessagePage};
use super::{paths, reply};
use crate::clients::{self, Client};
use crate::oauth::authorize::Params;
use crate::sessions;
use crate::startup::Components;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::LOGOUT, web::get().to(logout_get))
        .route(paths::LOGOUT, web::post().to(logout_post))
        .route(paths::LOGOUT_CONFIRM, web::post().to(confirm));
}

async fn logout_get(
    req: HttpRequest,
    query: web::Query<Vec<(String, String)>>,
    c: web::Data<Components>,
) -> HttpResponse {
    logout(&req, Params::new(query.into_inner()), &c).await
}

async fn logout_post(
    req: HttpRequest,
    form: web::Form<Vec<(String, String)>>,
    c: web::Data<Components>,
) -> HttpResponse {
    logout(&req, Params::new(form.into_inner()), &c).await
}

/// The claims of our own id_token that tie a request to a session (expiry does not matter).
#[derive(Deserialize)]
struct Hint {
    iss: String,
    aud: String,
    sub: String,
    sid: Option<String>,
}

/// A validated logout request: where to go afterwards, if anywhere.
struct Target {
    client: Option<Client>,
    redirect: Option<String>,
    state: Option<String>,
}

fn bad_request(message: &str) -> HttpResponse {
    views::error_page(
        StatusCode::BAD_REQUEST,
        "Sign-out request rejected",
        message,
        Some("invalid_request"),
    )
}

#[tracing::instrument(skip_all)]
async fn logout(req: &HttpRequest, params: Params, c: &Components) -> HttpResponse {
    let hint = match params.get("id_token_hint") {
        Some(token) => match verify_hint(c, token) {
            Some(hint) => Some(hint),
            None => return bad_request("The id_token_hint is not an ID token we issued."),
        },
        None => None,
    };
    let client_id = match (
        hint.as_ref().map(|h| h.aud.as_str()),
        params.get("client_id"),
    ) {
        (Some(a), Some(b)) if a != b => {
            return bad_request("client_id does not match the id_token_hint.");
        }
        (a, b) => a.or(b).map(str::to_owned),
    };
    let target = match target(
        c,
        client_id.as_deref(),
        params.get("post_logout_redirect_uri"),
        params.get("state"),
    )
    .await
    {
        Ok(target) => target,
        Err(page) => return page,
    };
    let name = c.settings.sessions.cookie_name.clone();
    let current = match extract::cookie(req, &name) {
        Some(cookie) => sessions::find(c.store.as_ref(), &cookie)
            .await
            .ok()
            .flatten()
            .map(|s| (cookie, s)),
        None => None,
    };
    let tied = |s: &sessions::Session| {
        hint.as_ref()
            .is_some_and(|h| h.sub == s.user_id && h.sid.as_deref() == Some(s.sid.as_str()))
    };
    match current {
        None => finish(c, &target, false),
        Some((cookie, session)) if tied(&session) => {
            match end_session(c, &sessions::id_of(&cookie)).await {
                Ok(_) => finish(c, &target, true),
                Err(e) => reply::error_page(&e),
            }
        }
        Some(_) => confirmation(req, c, &target),
    }
}

fn verify_hint(c: &Components, token: &str) -> Option<Hint> {
    let (payload, typ) = c.keys.verify(token).ok()?;
    let hint: Hint = serde_json::from_slice(&payload).ok()?;
    (typ.as_deref() == Some("JWT") && hint.iss == c.issuer.as_str()).then_some(hint)
}

/// `post_logout_redirect_uri` must exactly match one registered for the identified client.
async fn target(
    c: &Components,
    client_id: Option<&str>,
    redirect: Option<&str>,
    state: Option<&str>,
) -> Result<Target, HttpResponse> {
    let client = match client_id {
        Some(id) => match clients::store::find(&c.db, id).await {
            Ok(Some(client)) => Some(client),
            Ok(None) => return Err(bad_request("Unknown client_id.")),
            Err(e) => {
                return Err(reply::error_page(
                    &crate::oauth::Error::Unexpected(e).classify(),
                ));
            }
        },
        None => None,
    };
    if let Some(uri) = redirect {
        let registered = client
            .as_ref()
            .is_some_and(|cl| cl.post_logout_redirect_uris.iter().any(|r| r == uri));
        if !registered {
            return Err(bad_request(
                "post_logout_redirect_uri is not registered for this client.",
            ));
        }
    }
    Ok(Target {
        client,
        redirect: redirect.map(str::to_owned),
        state: state.map(str::to_owned),
    })
}

fn confirmation(req: &HttpRequest, c: &Components, target: &Target) -> HttpResponse {
    let (browser, new_cookie) = extract::browser_binding(req, &c.settings);
    let page = LogoutConfirmPage {
        action: paths::LOGOUT_CONFIRM,
        csrf: &csrf_form_value(&browser),
        client_name: target.client.as_ref().map(|cl| cl.name.as_str()),
        client_id: target.client.as_ref().map_or("", |cl| cl.id.as_str()),
        redirect: target.redirect.as_deref().unwrap_or_default(),
        state: target.state.as_deref().unwrap_or_default(),
    };
    let mut response = views::render(StatusCode::OK, &page);
    if let Some(cookie) = new_cookie {
        let _ = response.add_cookie(&cookie);
    }
    response
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

/// The user confirmed: end this browser's session, then go where the RP asked.
async fn confirm(
    req: HttpRequest,
    form: web::Form<ConfirmForm>,
    c: web::Data<Components>,
) -> HttpResponse {
    let browser =
        extract::cookie(&req, &extract::csrf_cookie_name(&c.settings)).unwrap_or_default();
    if browser.is_empty() || !csrf_matches(&browser, &form.csrf) {
        return views::error_page(
            StatusCode::FORBIDDEN,
            "Form expired",
            "Reload the page and try again.",
            None,
        );
    }
    let non_empty = |v: &str| Some(v.to_owned()).filter(|v| !v.is_empty());
    let client_id = non_empty(&form.client_id);
    let redirect = non_empty(&form.post_logout_redirect_uri);
    let target = match target(
        &c,
        client_id.as_deref(),
        redirect.as_deref(),
        non_empty(&form.state).as_deref(),
    )
    .await
    {
        Ok(target) => target,
        Err(page) => return page,
    };
    if let Some(cookie) = extract::cookie(&req, &c.settings.sessions.cookie_name) {
        if let Err(e) = end_session(&c, &sessions::id_of(&cookie)).await {
            return reply::error_page(&e);
        }
    }
    finish(&c, &target, true)
}

/// Redirects to the registered URI (with `state`), or says the user is signed out.
fn finish(c: &Components, target: &Target, clear_cookie: bool) -> HttpResponse {
    let mut response = match (
        &target.redirect,
        url::Url::parse(target.redirect.as_deref().unwrap_or_default()),
    ) {
        (Some(_), Ok(mut url)) => {
            if let Some(state) = &target.state {
                url.query_pairs_mut().append_pair("state", state);
            }
            HttpResponse::Found()
                .insert_header(("Location", url.as_str()))
                .finish()
        }
        _ => views::render(
            StatusCode::OK,
            &MessagePage {
                title: "Signed out",
                message: "You have been signed out.",
            },
        ),
    };
    if clear_cookie {
        let _ = response.add_cookie(&extract::removal(
            &c.settings,
            &c.settings.sessions.cookie_name,
        ));
    }
    response
}
