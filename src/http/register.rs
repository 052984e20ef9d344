//! Registration and email verification pages: `/register`, the "check your mail" page and
//! its resend, the verification link, and the "verify your email" pause of a sign-in.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use secrecy::SecretString;
use serde::Deserialize;

use super::error::PageError;
use super::extract::{BrowserBinding, Caller, CsrfForm, CsrfProtected, CurrentUser};
use super::reply;
use super::views::selfservice::{
    self, CheckMailPage, OutcomePage, RegisterPage, TokenQuery, VerifyConfirmPage,
    VerifyPendingPage,
};
use super::views::{self};
use crate::oauth::authorize::Authorizer;
use crate::paths;
use crate::selfservice::{FieldErrors, Registered, Registration, SelfService};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::REGISTER, web::get().to(register_page))
        .route(paths::REGISTER, web::post().to(register_submit))
        .route(paths::VERIFY_EMAIL_PENDING, web::get().to(pending_page))
        .route(paths::VERIFY_EMAIL_PENDING, web::post().to(resend_to))
        .route(paths::ACCOUNT_EMAIL_RESEND, web::post().to(resend_mine))
        .route(paths::VERIFY_EMAIL, web::get().to(verify_page))
        .route(paths::VERIFY_EMAIL, web::post().to(verify_submit));
}

/// A pending authorization request named by a form or query: kept only when it looks like
/// one of ours (a token), so it is safe in a URL and a hidden field.
fn request_id(raw: Option<&str>) -> Option<String> {
    raw.filter(|r| !r.is_empty() && r.len() <= 64)
        .filter(|r| {
            r.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_owned)
}

#[derive(Deserialize)]
struct RequestQuery {
    request: Option<String>,
}

/// Where "sign in" goes from here: the pending request's sign-in page, or the account's.
fn sign_in_href(request: Option<&str>) -> String {
    match request {
        Some(id) => format!("{}?request={id}", paths::LOGIN),
        None => paths::ACCOUNT.to_owned(),
    }
}

fn closed() -> HttpResponse {
    views::error_page(
        StatusCode::NOT_FOUND,
        "Registration is closed",
        "Accounts here are created by an administrator.",
        None,
    )
}

struct RegisterView<'a> {
    request: Option<&'a str>,
    client_name: Option<&'a str>,
    email: &'a str,
    name: &'a str,
    errors: &'a FieldErrors,
}

fn render_register(csrf: &str, view: RegisterView<'_>) -> HttpResponse {
    let sign_in = sign_in_href(view.request);
    let page = RegisterPage {
        action: paths::REGISTER,
        csrf,
        request_id: view.request.unwrap_or_default(),
        client_name: view.client_name,
        email: view.email,
        name: view.name,
        errors: view.errors,
        sign_in_href: &sign_in,
    };
    views::render(StatusCode::OK, &page)
}

/// The pending request's client name, when the request is live in this browser.
async fn client_of(
    authorizer: &Authorizer,
    request: Option<&str>,
    binding: &str,
) -> Result<Option<String>, PageError> {
    let Some(id) = request else {
        return Ok(None);
    };
    let pending = authorizer.pending(id, binding).await?;
    Ok(pending.map(|p| p.client_name))
}

async fn register_page(
    query: web::Query<RequestQuery>,
    binding: BrowserBinding,
    (service, authorizer): (web::Data<SelfService>, web::Data<Authorizer>),
) -> Result<HttpResponse, PageError> {
    if !service.signup_enabled {
        return Ok(closed());
    }
    let request = request_id(query.request.as_deref());
    let client = client_of(&authorizer, request.as_deref(), &binding.value).await?;
    let view = RegisterView {
        request: request.as_deref(),
        client_name: client.as_deref(),
        email: "",
        name: "",
        errors: &FieldErrors::default(),
    };
    Ok(render_register(&binding.csrf, view))
}

#[derive(Deserialize)]
struct RegisterForm {
    csrf: String,
    email: String,
    name: String,
    password: String,
    #[serde(default)]
    request: String,
}

impl CsrfProtected for RegisterForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[tracing::instrument(skip_all)]
async fn register_submit(
    CsrfForm { form, binding }: CsrfForm<RegisterForm>,
    caller: Caller,
    (service, authorizer): (web::Data<SelfService>, web::Data<Authorizer>),
) -> Result<HttpResponse, PageError> {
    if !service.signup_enabled {
        return Ok(closed());
    }
    let request = request_id(Some(&form.request));
    let registration = Registration {
        email: form.email.clone(),
        name: form.name.clone(),
        password: SecretString::from(form.password),
        return_request: request.clone(),
    };
    match service.register(registration, &caller.0).await? {
        Registered::CheckMail(email) => Ok(check_mail(email.as_str(), &binding, request, false)),
        Registered::Invalid(errors) => {
            let client = client_of(&authorizer, request.as_deref(), &binding.value).await?;
            let view = RegisterView {
                request: request.as_deref(),
                client_name: client.as_deref(),
                email: &form.email,
                name: &form.name,
                errors: &errors,
            };
            Ok(render_register(&binding.csrf, view))
        }
    }
}

fn check_mail(
    email: &str,
    binding: &BrowserBinding,
    request: Option<String>,
    resent: bool,
) -> HttpResponse {
    let page = CheckMailPage {
        email,
        purpose: "confirm your address",
        resend_action: Some(paths::VERIFY_EMAIL_PENDING),
        csrf: &binding.csrf,
        request_id: request.as_deref().unwrap_or_default(),
        resent,
    };
    views::render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
struct ResendForm {
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    request: String,
}

impl CsrfProtected for ResendForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// "Send the link again" on the check-your-mail page: the same page whatever the address.
#[tracing::instrument(skip_all)]
async fn resend_to(
    CsrfForm { form, binding }: CsrfForm<ResendForm>,
    caller: Caller,
    service: web::Data<SelfService>,
) -> Result<HttpResponse, PageError> {
    let request = request_id(Some(&form.request));
    let email: String = form.email.trim().chars().take(320).collect();
    service
        .resend_to(&email, request.clone(), &caller.0)
        .await?;
    Ok(check_mail(&email, &binding, request, true))
}

/// "Send the link again" for the signed-in user (account page, or the pause page).
#[tracing::instrument(skip_all)]
async fn resend_mine(
    CsrfForm { form, .. }: CsrfForm<ResendForm>,
    CurrentUser(me): CurrentUser,
    caller: Caller,
    service: web::Data<SelfService>,
) -> Result<HttpResponse, PageError> {
    let request = request_id(Some(&form.request));
    service
        .resend_for(&me.user, request.clone(), &caller.0)
        .await?;
    Ok(reply::see_other(&match request {
        Some(id) => format!("{}?request={id}&sent=1", paths::VERIFY_EMAIL_PENDING),
        None => super::views::account::Done::Resent.location(),
    }))
}

#[derive(Deserialize)]
struct PendingQuery {
    request: String,
    #[serde(default)]
    sent: Option<String>,
}

/// The sign-in waits here while the client requires a verified email and the user's is not.
async fn pending_page(
    query: web::Query<PendingQuery>,
    (binding, CurrentUser(me)): (BrowserBinding, CurrentUser),
    authorizer: web::Data<Authorizer>,
) -> Result<HttpResponse, PageError> {
    let request = request_id(Some(&query.request)).ok_or(PageError::Expired)?;
    let pending = authorizer
        .pending(&request, &binding.value)
        .await?
        .ok_or(PageError::Expired)?;
    let resume = format!("{}?request={request}", paths::AUTHORIZE_RESUME);
    let page = VerifyPendingPage {
        client_name: &pending.client_name,
        email: &me.user.email,
        continue_href: &resume,
        resend_action: paths::ACCOUNT_EMAIL_RESEND,
        csrf: &binding.csrf,
        request_id: &request,
        sent: query.sent.is_some(),
    };
    Ok(views::render(StatusCode::OK, &page))
}

fn link_expired() -> HttpResponse {
    selfservice::link_expired(
        "Sign in and send yourself a new one from your account.",
        (paths::ACCOUNT, "Sign in"),
    )
}

/// The mailed link opens a page with one button: a link scanner that fetches it verifies
/// nothing, and the POST carries this browser's CSRF value.
async fn verify_page(
    query: web::Query<TokenQuery>,
    binding: BrowserBinding,
    service: web::Data<SelfService>,
) -> Result<HttpResponse, PageError> {
    if !service.verification_live(&query.token).await? {
        return Ok(link_expired());
    }
    let page = VerifyConfirmPage {
        action: paths::VERIFY_EMAIL,
        csrf: &binding.csrf,
        token: &query.token,
    };
    Ok(views::render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
struct VerifyForm {
    csrf: String,
    token: String,
}

impl CsrfProtected for VerifyForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Verifies, then returns to the authorization request it started from when this browser
/// holds it, else says so and offers the sign-in.
#[tracing::instrument(skip_all)]
async fn verify_submit(
    CsrfForm { form, binding }: CsrfForm<VerifyForm>,
    caller: Caller,
    (service, authorizer): (web::Data<SelfService>, web::Data<Authorizer>),
) -> Result<HttpResponse, PageError> {
    let Some(verified) = service.verify(&form.token, &caller.0).await? else {
        return Ok(link_expired());
    };
    let request = verified.return_request.as_deref();
    if client_of(&authorizer, request, &binding.value)
        .await?
        .is_some()
    {
        let id = request.unwrap_or_default();
        return Ok(reply::see_other(&format!(
            "{}?request={id}",
            paths::AUTHORIZE_RESUME
        )));
    }
    let page = OutcomePage {
        title: "Email address confirmed",
        message: "Thank you: your email address is confirmed.",
        link: Some((paths::ACCOUNT, "Go to your account")),
    };
    Ok(views::render(StatusCode::OK, &page))
}
