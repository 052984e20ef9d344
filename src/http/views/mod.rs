//! Askama page models, and rendering them with the right status and cache headers.

pub mod account;
pub mod console;
pub mod console_users;
pub mod federation;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;

pub mod mfa;
pub mod second_factor;
pub mod selfservice;

pub use second_factor::{CodeKind, CodePage, StartOverPage};

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub action: &'a str,
    pub client_name: &'a str,
    pub request_id: &'a str,
    pub csrf: &'a str,
    pub email: &'a str,
    pub error: Option<&'a str>,
    /// Self-registration is on: link to it.
    pub signup: bool,
    pub register_href: &'a str,
    pub forgot_href: &'a str,
    /// Upstream providers: a link each, after the form (never its first submit button).
    pub providers: Vec<federation::ProviderLink>,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    pub action: &'a str,
    pub client_name: &'a str,
    pub request_id: &'a str,
    pub csrf: &'a str,
    pub user_email: &'a str,
    pub scope_lines: Vec<&'static str>,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub title: &'a str,
    pub message: &'a str,
    pub code: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "form_post.html")]
pub struct FormPostPage<'a> {
    pub action: &'a str,
    pub fields: Vec<(&'a str, &'a str)>,
}

/// A page that must never be cached (it carries CSRF tokens or per-user content).
pub fn render(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(body) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header(("Cache-Control", "no-store"))
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "template failed to render");
            HttpResponse::InternalServerError().body("internal error")
        }
    }
}

/// A friendly page for errors that must not go back to the client.
pub fn error_page(
    status: StatusCode,
    title: &str,
    message: &str,
    code: Option<&str>,
) -> HttpResponse {
    render(
        status,
        &ErrorPage {
            title,
            message,
            code,
        },
    )
}

/// What each scope means, in plain words, for the consent page.
pub fn describe_scope(scope: &str) -> &'static str {
    match scope {
        "openid" => "Confirm who you are",
        "profile" => "See your name and username",
        "email" => "See your email address",
        "roles" => "See the roles you hold",
        "offline_access" => "Stay signed in and access your data while you are away",
        _ => "Use an additional permission",
    }
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub title: &'a str,
    pub message: &'a str,
}

#[derive(Template)]
#[template(path = "logout_confirm.html")]
pub struct LogoutConfirmPage<'a> {
    pub action: &'a str,
    pub csrf: &'a str,
    pub client_name: Option<&'a str>,
    pub client_id: &'a str,
    pub redirect: &'a str,
    pub state: &'a str,
}

#[derive(Template)]
#[template(path = "account_login.html")]
pub struct AccountLoginPage<'a> {
    pub action: &'a str,
    pub csrf: &'a str,
    /// Where to go once signed in: a path of ours.
    pub next: &'a str,
    pub email: &'a str,
    pub error: Option<&'a str>,
    pub signup: bool,
    pub register_href: &'a str,
    pub forgot_href: &'a str,
    pub providers: Vec<federation::ProviderLink>,
}

/// A second factor in words, as the audit log's `method` detail names it.
fn factor(method: &str) -> &'static str {
    match method {
        "totp" => "authenticator app",
        "email" => "codes by email",
        _ => "a second factor",
    }
}

/// A sign-in in words, by the methods the audit log's `method` detail names.
fn signed_in_with(method: Option<&str>) -> &'static str {
    match method {
        Some("password+totp") => "Signed in (password and authenticator app)",
        Some("password+recovery_code") => "Signed in with a recovery code",
        Some("password+email_code") => "Signed in (password and a code by email)",
        _ => "Signed in",
    }
}

/// A refused sign-in in words, by its reason.
fn failed_sign_in(reason: &str) -> String {
    match reason {
        "wrong code" => "Wrong two-step verification code".to_owned(),
        reason => format!("Failed sign-in ({reason})"),
    }
}

/// An audit event in words, for its owner.
pub fn describe_event(kind: &str, detail: &str) -> String {
    let detail: serde_json::Value = serde_json::from_str(detail).unwrap_or_default();
    let field = |name: &str| detail[name].as_str().unwrap_or_default().replace('_', " ");
    match kind {
        "login_succeeded" => signed_in_with(detail["method"].as_str()).to_owned(),
        "login_failed" if field("during") == "password change" => {
            "Wrong current password given to change the password".to_owned()
        }
        "login_failed" if field("during") == "mfa change" => {
            "Wrong password given to change two-step verification".to_owned()
        }
        "login_failed" => failed_sign_in(&field("reason")),
        "lockout_started" => "Password sign-in paused after failed attempts".to_owned(),
        "logout" => "Signed out".to_owned(),
        "session_ended" => format!("Session ended ({})", field("reason")),
        "consent_granted" => "Allowed an application".to_owned(),
        "token_issued" => "An application received access".to_owned(),
        "token_refreshed" => "An application renewed its access".to_owned(),
        "token_revoked" => "An application's access was revoked".to_owned(),
        "refresh_reuse_detected" => "A reused token was refused and revoked".to_owned(),
        "user_registered" => "Account created".to_owned(),
        "email_verified" => "Email address verified".to_owned(),
        "password_reset_requested" => "Password reset requested".to_owned(),
        "password_reset" => "Password reset".to_owned(),
        "password_changed" => "Password changed".to_owned(),
        "profile_updated" => "Profile updated".to_owned(),
        "consent_revoked" => "Removed an application's access".to_owned(),
        "mfa_enabled" => format!(
            "Two-step verification turned on ({})",
            factor(&field("method"))
        ),
        "mfa_disabled" => format!(
            "Two-step verification turned off ({})",
            factor(&field("method"))
        ),
        "recovery_codes_regenerated" => "New recovery codes made".to_owned(),
        other => other.replace('_', " "),
    }
}
