//! The second-factor page of the sign-in (after the password on either sign-in form), and
//! the step-up a request that needs more than the session's password sends the browser to.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::cookies::{CookiePolicy, with_cookie};
use super::error::PageError;
use super::extract::{BrowserBinding, BrowserState, CsrfForm, CsrfProtected};
use super::reply;
use super::views::{self, CodeKind, CodePage, StartOverPage};
use crate::oidc::challenge::Then;
use crate::oidc::second_factor::{After, CodePrompt, CodeStep, StepUp};
use crate::oidc::signin::LoginPipeline;
use crate::paths;
use crate::settings::Issuer;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::LOGIN_CODE, web::get().to(code_page))
        .route(paths::LOGIN_CODE, web::post().to(code_submit))
        .route(paths::LOGIN_CODE_EMAIL, web::post().to(email_code))
        .route(paths::LOGIN_STEP_UP, web::get().to(step_up));
}

/// Where the browser goes for challenge `id`'s page.
pub fn code_path(id: &str) -> String {
    format!("{}?challenge={id}", paths::LOGIN_CODE)
}

#[derive(Deserialize)]
struct CodeQuery {
    challenge: String,
    #[serde(default)]
    kind: Option<String>,
}

fn render(
    (challenge, csrf): (&str, &str),
    prompt: &CodePrompt,
    kind: CodeKind,
    error: Option<&str>,
) -> HttpResponse {
    let page = CodePage::new(challenge, csrf, prompt, kind, error);
    views::render(StatusCode::OK, &page)
}

async fn code_page(
    query: web::Query<CodeQuery>,
    binding: BrowserBinding,
    pipeline: web::Data<LoginPipeline>,
) -> Result<HttpResponse, PageError> {
    let prompt = pipeline
        .code_prompt(&query.challenge, &binding.value)
        .await?;
    let prompt = prompt.ok_or(PageError::Expired)?;
    let kind = match query.kind.as_deref() {
        Some("recovery") => CodeKind::Recovery,
        _ => CodeKind::Code,
    };
    let ids = (query.challenge.as_str(), binding.csrf.as_str());
    Ok(render(ids, &prompt, kind, None))
}

#[derive(Deserialize)]
struct CodeForm {
    challenge: String,
    csrf: String,
    #[serde(default)]
    code: String,
}

impl CsrfProtected for CodeForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[tracing::instrument(skip_all)]
async fn code_submit(
    CsrfForm { form, binding }: CsrfForm<CodeForm>,
    browser: BrowserState,
    (pipeline, policy, issuer): (
        web::Data<LoginPipeline>,
        web::Data<CookiePolicy>,
        web::Data<Issuer>,
    ),
) -> Result<HttpResponse, PageError> {
    let step = pipeline
        .submit_code(&form.challenge, browser.as_browser(), &form.code)
        .await?;
    let ids = (form.challenge.as_str(), binding.csrf.as_str());
    answer(step, ids, &policy, &issuer)
}

/// "Email me a code" (or "Send a new code").
#[tracing::instrument(skip_all)]
async fn email_code(
    CsrfForm { form, binding }: CsrfForm<CodeForm>,
    browser: BrowserState,
    (pipeline, policy, issuer): (
        web::Data<LoginPipeline>,
        web::Data<CookiePolicy>,
        web::Data<Issuer>,
    ),
) -> Result<HttpResponse, PageError> {
    let step = pipeline
        .send_code(&form.challenge, browser.as_browser())
        .await?;
    let ids = (form.challenge.as_str(), binding.csrf.as_str());
    answer(step, ids, &policy, &issuer)
}

fn answer(
    step: CodeStep,
    ids: (&str, &str),
    policy: &CookiePolicy,
    issuer: &Issuer,
) -> Result<HttpResponse, PageError> {
    match step {
        CodeStep::Retry(prompt) => Ok(render(ids, &prompt, CodeKind::Code, Some(WRONG_CODE))),
        CodeStep::Sent(prompt) => Ok(render(ids, &prompt, CodeKind::Code, None)),
        CodeStep::SignedIn {
            cookie,
            device_token,
            after,
        } => {
            let response = match after {
                After::Authorize(step) => reply::step(issuer, step)?,
                After::Go(path) => reply::see_other(&path),
            };
            let response = with_cookie(response, &policy.session(cookie));
            Ok(with_cookie(response, &policy.device(device_token)))
        }
        CodeStep::StartOver(then) => Ok(start_over(&then)),
        CodeStep::Expired => Err(PageError::Expired),
    }
}

const WRONG_CODE: &str = "That code didn't work. Check it and try again.";

fn start_over(then: &Then) -> HttpResponse {
    let href = match then {
        Then::Authorize { request } => format!("{}?request={request}", paths::LOGIN),
        Then::Go { .. } => paths::ACCOUNT_LOGIN.to_owned(),
    };
    views::render(StatusCode::OK, &StartOverPage { href: &href })
}

#[derive(Deserialize)]
struct StepUpQuery {
    request: String,
}

/// A pending request that needs a second factor (`Page::SecondFactor`).
async fn step_up(
    query: web::Query<StepUpQuery>,
    browser: BrowserState,
    pipeline: web::Data<LoginPipeline>,
) -> Result<HttpResponse, PageError> {
    let request = &query.request;
    Ok(
        match pipeline.step_up(request, browser.as_browser()).await? {
            StepUp::Challenge(id) => reply::see_other(&code_path(&id)),
            StepUp::Enrol { next } => reply::see_other(&enrol_path(&next)),
            StepUp::SignIn => reply::see_other(&format!("{}?request={request}", paths::LOGIN)),
            StepUp::Expired => return Err(PageError::Expired),
        },
    )
}

/// The enrolment page, coming back to `next` once a factor is set up.
fn enrol_path(next: &str) -> String {
    let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    format!("{}?next={next}", paths::ACCOUNT_MFA)
}
