//! The pages of a pending authorization request: sign-in and consent.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use secrecy::SecretString;
use serde::Deserialize;

use super::cookies::{CookiePolicy, with_cookie};
use super::error::PageError;
use super::extract::{
    BrowserBinding, BrowserState, Caller, CsrfForm, CsrfProtected, DeviceCookie, MaybeUser,
    SessionCookie,
};
use super::reply;
use super::views::{self, ConsentPage, LoginPage};
use crate::accounts::Credentials;
use crate::federation::Federation;
use crate::oauth::authorize::{Authorizer, Browser, Pending};
use crate::oidc::signin::{LoginPipeline, PasswordStep};
use crate::paths;
use crate::selfservice::SelfService;
use crate::settings::Issuer;

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

#[derive(Deserialize)]
struct LoginQuery {
    request: String,
    /// Show the chooser even when the request hinted a provider (its sign-in failed).
    #[serde(default)]
    choose: Option<String>,
}

/// The pending request this browser may continue, or the "expired" page.
async fn pending(authorizer: &Authorizer, id: &str, binding: &str) -> Result<Pending, PageError> {
    authorizer
        .pending(id, binding)
        .await?
        .ok_or(PageError::Expired)
}

async fn login_page(
    query: web::Query<LoginQuery>,
    binding: BrowserBinding,
    authorizer: web::Data<Authorizer>,
    (service, federation): (web::Data<SelfService>, web::Data<Federation>),
) -> Result<HttpResponse, PageError> {
    let pending = pending(&authorizer, &query.request, &binding.value).await?;
    // `idp_hint`: straight to a provider we know, skipping the chooser.
    let hinted = pending.request.idp_hint.as_deref();
    if let Some(id) = hinted.filter(|id| federation.name_of(id).is_some() && query.choose.is_none())
    {
        return Ok(reply::see_other(&super::federation::start_href(
            id,
            ("request", &query.request),
        )));
    }
    let hint = pending.request.login_hint.clone().unwrap_or_default();
    let form = LoginForm {
        request: query.request.clone(),
        csrf: binding.csrf,
        email: hint,
        password: String::new(),
    };
    let signup = (service.signup_enabled, &**federation);
    Ok(render_login(&pending, &form, signup, None))
}

/// The sign-in page for `pending`, with the form's values (never its password).
fn render_login(
    pending: &Pending,
    form: &LoginForm,
    (signup, federation): (bool, &Federation),
    error: Option<&str>,
) -> HttpResponse {
    let providers = super::federation::links(federation, ("request", &form.request));
    let page = LoginPage {
        action: paths::LOGIN,
        client_name: &pending.client_name,
        request_id: &form.request,
        csrf: &form.csrf,
        email: &form.email,
        error,
        signup,
        register_href: paths::REGISTER,
        forgot_href: paths::PASSWORD_FORGOT,
        providers,
    };
    views::render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
struct LoginForm {
    request: String,
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
    CsrfForm { mut form, binding }: CsrfForm<LoginForm>,
    (state, device): (BrowserState, DeviceCookie),
    (pipeline, service, federation): (
        web::Data<LoginPipeline>,
        web::Data<SelfService>,
        web::Data<Federation>,
    ),
    (policy, issuer): (web::Data<CookiePolicy>, web::Data<Issuer>),
) -> Result<HttpResponse, PageError> {
    let browser = state.as_browser();
    let credentials = Credentials {
        email: form.email.clone(),
        password: SecretString::from(std::mem::take(&mut form.password)),
    };
    form.csrf = binding.csrf.clone();
    match pipeline
        .password(&form.request, browser, &credentials, device.0.as_deref())
        .await?
    {
        PasswordStep::Retry(pending) => Ok(render_login(
            &pending,
            &form,
            (service.signup_enabled, &federation),
            Some("Wrong email or password."),
        )),
        PasswordStep::SignedIn {
            cookie,
            device_token,
            next,
        } => {
            let response = with_cookie(reply::step(&issuer, next)?, &policy.session(cookie));
            Ok(with_cookie(response, &policy.device(device_token)))
        }
        PasswordStep::SecondFactor { challenge } => Ok(reply::see_other(
            &super::second_factor::code_path(&challenge),
        )),
        PasswordStep::Expired => Err(PageError::Expired),
    }
}

async fn consent_page(
    query: web::Query<PageQuery>,
    binding: BrowserBinding,
    MaybeUser(user): MaybeUser,
    authorizer: web::Data<Authorizer>,
) -> Result<HttpResponse, PageError> {
    let pending = pending(&authorizer, &query.request, &binding.value).await?;
    let Some(signed_in) = user else {
        return Ok(reply::see_other(&format!(
            "{}?request={}",
            paths::LOGIN,
            query.request
        )));
    };
    let page = ConsentPage {
        action: paths::CONSENT,
        client_name: &pending.client_name,
        request_id: &query.request,
        csrf: &binding.csrf,
        user_email: &signed_in.user.email,
        scope_lines: pending
            .request
            .scope
            .iter()
            .map(views::describe_scope)
            .collect(),
    };
    Ok(views::render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
struct ConsentForm {
    request: String,
    csrf: String,
    decision: String,
}

impl CsrfProtected for ConsentForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[tracing::instrument(skip_all)]
async fn consent_submit(
    CsrfForm { form, binding }: CsrfForm<ConsentForm>,
    (MaybeUser(user), session, caller): (MaybeUser, SessionCookie, Caller),
    authorizer: web::Data<Authorizer>,
    issuer: web::Data<Issuer>,
) -> Result<HttpResponse, PageError> {
    let Some(signed_in) = user else {
        return Ok(reply::see_other(&format!(
            "{}?request={}",
            paths::LOGIN,
            form.request
        )));
    };
    let allow = form.decision == "allow";
    let browser = Browser {
        binding: &binding.value,
        session: session.0.as_deref(),
        origin: &caller.0,
    };
    let step = authorizer
        .consent(&form.request, browser, &signed_in.user.id, allow)
        .await?;
    reply::step(&issuer, step)
}
