//! Password reset pages: `/password/forgot` asks for a link, `/password/reset` uses it.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use secrecy::SecretString;
use serde::Deserialize;

use super::error::PageError;
use super::extract::{BrowserBinding, Caller, CsrfForm, CsrfProtected};
use super::views::selfservice::{
    self, CheckMailPage, ForgotPage, OutcomePage, ResetPage, TokenQuery,
};
use super::views::{self};
use crate::paths;
use crate::selfservice::reset::{NewPassword, ResetOutcome};
use crate::selfservice::{FieldErrors, SelfService};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::PASSWORD_FORGOT, web::get().to(forgot_page))
        .route(paths::PASSWORD_FORGOT, web::post().to(forgot_submit))
        .route(paths::PASSWORD_RESET, web::get().to(reset_page))
        .route(paths::PASSWORD_RESET, web::post().to(reset_submit));
}

fn render_forgot(csrf: &str, email: &str, error: Option<&str>) -> HttpResponse {
    let page = ForgotPage {
        action: paths::PASSWORD_FORGOT,
        csrf,
        email,
        error,
        sign_in_href: paths::ACCOUNT,
    };
    views::render(StatusCode::OK, &page)
}

async fn forgot_page(binding: BrowserBinding) -> HttpResponse {
    render_forgot(&binding.csrf, "", None)
}

#[derive(Deserialize)]
struct ForgotForm {
    csrf: String,
    email: String,
}

impl CsrfProtected for ForgotForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The same "check your mail" whether or not the address has an account.
#[tracing::instrument(skip_all)]
async fn forgot_submit(
    CsrfForm { form, binding }: CsrfForm<ForgotForm>,
    caller: Caller,
    service: web::Data<SelfService>,
) -> Result<HttpResponse, PageError> {
    if let Err(error) = service.forgot(&form.email, &caller.0).await? {
        return Ok(render_forgot(&binding.csrf, &form.email, Some(&error)));
    }
    let page = CheckMailPage {
        email: form.email.trim(),
        purpose: "choose a new password, if an account uses this address",
        resend_action: None,
        csrf: &binding.csrf,
        request_id: "",
        resent: false,
    };
    Ok(views::render(StatusCode::OK, &page))
}

fn link_expired() -> HttpResponse {
    selfservice::link_expired(
        "Ask for a new one.",
        (paths::PASSWORD_FORGOT, "Reset my password"),
    )
}

fn render_reset(csrf: &str, token: &str, errors: &FieldErrors) -> HttpResponse {
    let page = ResetPage {
        action: paths::PASSWORD_RESET,
        csrf,
        token,
        errors,
    };
    views::render(StatusCode::OK, &page)
}

async fn reset_page(
    query: web::Query<TokenQuery>,
    binding: BrowserBinding,
    service: web::Data<SelfService>,
) -> Result<HttpResponse, PageError> {
    if !service.reset_live(&query.token).await? {
        return Ok(link_expired());
    }
    Ok(render_reset(
        &binding.csrf,
        &query.token,
        &FieldErrors::default(),
    ))
}

#[derive(Deserialize)]
struct ResetForm {
    csrf: String,
    token: String,
    password: String,
    confirm: String,
}

impl CsrfProtected for ResetForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[tracing::instrument(skip_all)]
async fn reset_submit(
    CsrfForm { form, binding }: CsrfForm<ResetForm>,
    caller: Caller,
    service: web::Data<SelfService>,
) -> Result<HttpResponse, PageError> {
    let token = form.token.clone();
    let new = NewPassword {
        token: form.token,
        password: SecretString::from(form.password),
        confirm: SecretString::from(form.confirm),
    };
    Ok(match service.reset(new, &caller.0).await? {
        ResetOutcome::Done => views::render(
            StatusCode::OK,
            &OutcomePage {
                title: "Password changed",
                message: "Your new password is set, and you are signed out everywhere. Sign in with it.",
                link: Some((paths::ACCOUNT, "Sign in")),
            },
        ),
        ResetOutcome::Invalid(errors) => render_reset(&binding.csrf, &token, &errors),
        ResetOutcome::Expired => link_expired(),
    })
}
