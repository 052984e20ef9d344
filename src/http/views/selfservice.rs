//! Page models of registration, email verification and password reset.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;
use serde::Deserialize;

use crate::selfservice::FieldErrors;

#[derive(Template)]
#[template(path = "register.html")]
pub struct RegisterPage<'a> {
    pub action: &'a str,
    pub csrf: &'a str,
    pub request_id: &'a str,
    pub client_name: Option<&'a str>,
    pub email: &'a str,
    pub name: &'a str,
    pub errors: &'a FieldErrors,
    pub sign_in_href: &'a str,
}

#[derive(Template)]
#[template(path = "check_mail.html")]
pub struct CheckMailPage<'a> {
    pub email: &'a str,
    /// "confirm your address", "choose a new password"
    pub purpose: &'a str,
    pub resend_action: Option<&'a str>,
    pub csrf: &'a str,
    pub request_id: &'a str,
    pub resent: bool,
}

#[derive(Template)]
#[template(path = "verify_confirm.html")]
pub struct VerifyConfirmPage<'a> {
    pub action: &'a str,
    pub csrf: &'a str,
    pub token: &'a str,
}

#[derive(Template)]
#[template(path = "verify_pending.html")]
pub struct VerifyPendingPage<'a> {
    pub client_name: &'a str,
    pub email: &'a str,
    pub continue_href: &'a str,
    pub resend_action: &'a str,
    pub csrf: &'a str,
    pub request_id: &'a str,
    pub sent: bool,
}

#[derive(Template)]
#[template(path = "forgot.html")]
pub struct ForgotPage<'a> {
    pub action: &'a str,
    pub csrf: &'a str,
    pub email: &'a str,
    pub error: Option<&'a str>,
    pub sign_in_href: &'a str,
}

#[derive(Template)]
#[template(path = "reset.html")]
pub struct ResetPage<'a> {
    pub action: &'a str,
    pub csrf: &'a str,
    pub token: &'a str,
    pub errors: &'a FieldErrors,
}

/// The end of a flow: what happened, and where to go from here.
#[derive(Template)]
#[template(path = "outcome.html")]
pub struct OutcomePage<'a> {
    pub title: &'a str,
    pub message: &'a str,
    pub link: Option<(&'a str, &'a str)>,
}

/// The query of a mailed one-time link.
#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    pub token: String,
}

/// A one-time link that is unknown, used or too old: what to do instead.
pub fn link_expired(instead: &str, link: (&str, &str)) -> HttpResponse {
    let page = OutcomePage {
        title: "This link has expired",
        message: &format!("It was already used, or is too old. {instead}"),
        link: Some(link),
    };
    super::render(StatusCode::BAD_REQUEST, &page)
}
