//! Answers to the browser: the next step of the sign-in pipeline as a redirect, and answers
//! to the client (query or form_post, always with `iss`, RFC 9207).

use actix_web::HttpResponse;
use actix_web::ResponseError;
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_SECURITY_POLICY, HeaderValue};

use super::error::PageError;
use super::views::{self, FormPostPage};
use crate::oauth::Error;
use crate::oauth::authorize::{Page, ReplyTo, ResponseMode, Step};
use crate::paths;
use crate::settings::Issuer;

/// Where each page of the pipeline lives.
pub fn page_path(page: Page) -> &'static str {
    match page {
        Page::Login => paths::LOGIN,
        Page::Consent => paths::CONSENT,
        Page::VerifyEmail => paths::VERIFY_EMAIL_PENDING,
        Page::SecondFactor => paths::LOGIN_STEP_UP,
    }
}

/// The response for a step of the sign-in pipeline.
pub fn step(issuer: &Issuer, step: Step) -> Result<HttpResponse, PageError> {
    match step {
        Step::Show { page, request } => {
            Ok(see_other(&format!("{}?request={request}", page_path(page))))
        }
        Step::Resume { request } => Ok(see_other(&format!(
            "{}?request={request}",
            paths::AUTHORIZE_RESUME
        ))),
        Step::Code { reply, code } => Ok(to_client_code(issuer, &reply, &code)),
        Step::Deny { reply, error } => Ok(to_client_error(issuer, &reply, error)),
        Step::Expired => Err(PageError::Expired),
    }
}

pub fn to_client_code(issuer: &Issuer, to: &ReplyTo, code: &str) -> HttpResponse {
    let mut fields = vec![("code", code)];
    if let Some(state) = &to.state {
        fields.push(("state", state));
    }
    fields.push(("iss", issuer.as_str()));
    respond(to, &fields)
}

/// RFC 6749 §4.1.2.1 (and OIDC Core §3.1.2.6) error response to the client. Our own
/// failures are shown to the user instead: the client could do nothing useful with them.
pub fn to_client_error(issuer: &Issuer, to: &ReplyTo, error: Error) -> HttpResponse {
    if matches!(
        error,
        Error::Unexpected(_) | Error::TemporarilyUnavailable(_)
    ) {
        return PageError::SignIn(error).error_response();
    }
    let description = error.description();
    let mut fields = vec![
        ("error", error.code()),
        ("error_description", description.as_str()),
    ];
    if let Some(state) = &to.state {
        fields.push(("state", state));
    }
    fields.push(("iss", issuer.as_str()));
    respond(to, &fields)
}

fn respond(to: &ReplyTo, fields: &[(&str, &str)]) -> HttpResponse {
    match to.response_mode {
        ResponseMode::Query => match url::Url::parse(&to.redirect_uri) {
            Ok(mut url) => {
                url.query_pairs_mut().extend_pairs(fields.iter().copied());
                found(url.as_str())
            }
            Err(_) => {
                let error = Error::invalid_request("the redirect URI is malformed");
                PageError::SignIn(error).error_response()
            }
        },
        ResponseMode::FormPost => form_post(&to.redirect_uri, fields),
    }
}

/// OAuth 2.0 Form Post Response Mode §2: a page that posts the fields to the client.
fn form_post(action: &str, fields: &[(&str, &str)]) -> HttpResponse {
    let page = FormPostPage {
        action,
        fields: fields.to_vec(),
    };
    let mut response = views::render(StatusCode::OK, &page);
    // This page must be allowed to post to the client; everything else stays locked.
    let csp = "default-src 'none'; script-src 'self'; form-action *; frame-ancestors 'none'; \
               base-uri 'none'";
    response
        .headers_mut()
        .insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    response
}

/// A redirect to the client (302, RFC 6749 §4.1.2).
pub fn found(location: &str) -> HttpResponse {
    HttpResponse::Found()
        .insert_header(("Location", location))
        .insert_header(("Cache-Control", "no-store"))
        .finish()
}

/// A redirect after a form post or between our own pages (303).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", location))
        .insert_header(("Cache-Control", "no-store"))
        .finish()
}
