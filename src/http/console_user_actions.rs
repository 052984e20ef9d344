//! The console's destructive changes to a user, each behind a confirm page (a GET showing
//! what will happen, with the form that does it and a way back): disabling (which signs
//! them out everywhere, as the admin API does), resetting the second factors, ending a
//! session, revoking a consent, deleting the user.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use super::console::{Plain, SignedInAdmin, done};
use super::console_users::user_href;
use super::error::PageError;
use super::extract::CsrfForm;
use super::views::console::ConfirmPage;
use super::views::{self};
use crate::admin::sessions::Oversight;
use crate::paths::{self, fill};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::CONSOLE_USER_DISABLE, web::get().to(disable_confirm))
        .route(paths::CONSOLE_USER_DISABLE, web::post().to(disable))
        .route(
            paths::CONSOLE_USER_FACTORS_RESET,
            web::get().to(factors_confirm),
        )
        .route(
            paths::CONSOLE_USER_FACTORS_RESET,
            web::post().to(reset_factors),
        )
        .route(
            paths::CONSOLE_USER_SESSION_END,
            web::get().to(session_confirm),
        )
        .route(paths::CONSOLE_USER_SESSION_END, web::post().to(end_session))
        .route(
            paths::CONSOLE_USER_CONSENT_REVOKE,
            web::get().to(consent_confirm),
        )
        .route(
            paths::CONSOLE_USER_CONSENT_REVOKE,
            web::post().to(revoke_consent),
        )
        .route(paths::CONSOLE_USER_DELETE, web::get().to(delete_confirm))
        .route(paths::CONSOLE_USER_DELETE, web::post().to(delete));
}

/// The confirm page for a change to user `id`: `action` is the page's own path, where its
/// form posts; Cancel goes back to the user.
async fn confirm(
    op: &SignedInAdmin,
    (id, action): (&str, &str),
    (title, button): (&str, &str),
    message: impl FnOnce(&str) -> String,
) -> Result<HttpResponse, PageError> {
    let user = op.admin.user(id).await?;
    let page = ConfirmPage {
        title,
        message: message(&user.email),
        action: fill(action, &[&user.id]),
        csrf: &op.csrf,
        button,
        cancel: user_href(&user.id),
    };
    Ok(views::render(StatusCode::OK, &page))
}

async fn disable_confirm(
    op: SignedInAdmin,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let words = ("Disable the user?", "Disable");
    confirm(&op, (&id, paths::CONSOLE_USER_DISABLE), words, |email| {
        format!("{email} can no longer sign in, every session of theirs ends now, and their refresh tokens stop working. You can enable them again.")
    })
    .await
}

/// Disables the user and ends every session of theirs, as the admin API does.
#[tracing::instrument(skip_all)]
async fn disable(
    op: SignedInAdmin,
    id: web::Path<String>,
    (_form, oversight): (CsrfForm<Plain>, web::Data<Oversight>),
) -> Result<HttpResponse, PageError> {
    let user = op.admin.disable(&id).await?;
    oversight
        .end_all_sessions(&user.id, &op.admin.origin)
        .await?;
    Ok(done(&user_href(&user.id), "disabled"))
}

async fn factors_confirm(
    op: SignedInAdmin,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let words = ("Reset the second factors?", "Reset the second factors");
    confirm(&op, (&id, paths::CONSOLE_USER_FACTORS_RESET), words, |email| {
        format!("{email}'s authenticator app, codes by email and recovery codes are removed: they sign in with the password alone until they enrol again.")
    })
    .await
}

#[tracing::instrument(skip_all)]
async fn reset_factors(
    op: SignedInAdmin,
    id: web::Path<String>,
    _form: CsrfForm<Plain>,
) -> Result<HttpResponse, PageError> {
    let user = op.admin.reset_factors(&id).await?;
    Ok(done(&user_href(&user.id), "factors"))
}

async fn session_confirm(
    op: SignedInAdmin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (id, sid) = path.into_inner();
    let action = fill(paths::CONSOLE_USER_SESSION_END, &[&id, &sid]);
    let user = op.admin.user(&id).await?;
    let page = ConfirmPage {
        title: "End the session?",
        message: format!(
            "This session of {} ends now, with its refresh tokens; the applications it signed in to are told.",
            user.email
        ),
        action,
        csrf: &op.csrf,
        button: "End the session",
        cancel: user_href(&user.id),
    };
    Ok(views::render(StatusCode::OK, &page))
}

#[tracing::instrument(skip_all)]
async fn end_session(
    op: SignedInAdmin,
    path: web::Path<(String, String)>,
    (_form, oversight): (CsrfForm<Plain>, web::Data<Oversight>),
) -> Result<HttpResponse, PageError> {
    let (id, sid) = path.into_inner();
    oversight.end_session(&id, &sid, &op.admin.origin).await?;
    Ok(done(&user_href(&id), "session"))
}

async fn consent_confirm(
    op: SignedInAdmin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (id, client) = path.into_inner();
    let action = fill(paths::CONSOLE_USER_CONSENT_REVOKE, &[&id, &client]);
    let user = op.admin.user(&id).await?;
    let page = ConfirmPage {
        title: "Revoke the consent?",
        message: format!(
            "{} must allow {client} again, and its refresh tokens for them stop working.",
            user.email
        ),
        action,
        csrf: &op.csrf,
        button: "Revoke",
        cancel: user_href(&user.id),
    };
    Ok(views::render(StatusCode::OK, &page))
}

#[tracing::instrument(skip_all)]
async fn revoke_consent(
    op: SignedInAdmin,
    path: web::Path<(String, String)>,
    (_form, oversight): (CsrfForm<Plain>, web::Data<Oversight>),
) -> Result<HttpResponse, PageError> {
    let (id, client) = path.into_inner();
    oversight
        .revoke_consent(&id, &client, &op.admin.origin)
        .await?;
    Ok(done(&user_href(&id), "consent"))
}

async fn delete_confirm(
    op: SignedInAdmin,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let words = ("Delete the user?", "Delete the user");
    confirm(&op, (&id, paths::CONSOLE_USER_DELETE), words, |email| {
        format!("{email} is deleted with their sessions, refresh tokens, consents and second factors. This cannot be undone.")
    })
    .await
}

#[tracing::instrument(skip_all)]
async fn delete(
    op: SignedInAdmin,
    id: web::Path<String>,
    (_form, oversight): (CsrfForm<Plain>, web::Data<Oversight>),
) -> Result<HttpResponse, PageError> {
    let user = op.admin.user(&id).await?;
    oversight.delete_user(&user.id, &op.admin.origin).await?;
    Ok(done(paths::CONSOLE_USERS, "user-deleted"))
}
