//! Errors as responses. `oauth::Error` goes out as JSON per RFC 6749 §5.2 / RFC 6750 §3;
//! [`PageError`] is what page handlers return, rendered as the error page. [`status_of`] is
//! the one place that decides a status, 503 for an unreachable backend included.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use super::reply;
use super::views;
use crate::admin::AdminError;
use crate::oauth::Error;
use crate::paths;

/// The HTTP status for a protocol error, at JSON endpoints and on pages alike.
pub fn status_of(error: &Error) -> StatusCode {
    match error {
        Error::InvalidClient { .. } | Error::InvalidToken(_) | Error::MissingToken => {
            StatusCode::UNAUTHORIZED
        }
        Error::AccessDenied(_) | Error::InsufficientScope(_) => StatusCode::FORBIDDEN,
        Error::TemporarilyUnavailable(_) | Error::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
        Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        Error::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// 5xx causes go to the log with their chain, once, where the response is made.
fn log_cause(error: &Error) {
    match error {
        Error::TemporarilyUnavailable(cause) => {
            tracing::error!(error = format!("{cause:#}"), "backend unavailable");
        }
        Error::Unexpected(cause) => tracing::error!(error = format!("{cause:#}"), "request failed"),
        _ => {}
    }
}

const BEARER_REALM: &str = r#"Bearer realm="gatehouse""#;

/// RFC 6750 §3: the realm, the error, its description, and for `insufficient_scope` the
/// scope the resource needs. The description holds no `"` or `\` ([`Error::description`]).
fn bearer_challenge(error: &Error) -> String {
    let description = error.description();
    let mut value = format!(
        r#"{BEARER_REALM}, error="{}", error_description="{description}""#,
        error.code()
    );
    if matches!(error, Error::InsufficientScope(_)) {
        value.push_str(r#", scope="openid""#);
    }
    value
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        status_of(self)
    }

    fn error_response(&self) -> HttpResponse {
        log_cause(self);
        let mut response = HttpResponse::build(self.status_code());
        response
            .insert_header(("Cache-Control", "no-store"))
            .insert_header(("Pragma", "no-cache"));
        match self {
            Error::InvalidClient { basic: true, .. } => {
                response.insert_header((
                    "WWW-Authenticate",
                    r#"Basic realm="gatehouse", charset="UTF-8""#,
                ));
            }
            // RFC 6750 §3.1: a request without credentials gets the challenge alone.
            Error::MissingToken => {
                response.insert_header(("WWW-Authenticate", BEARER_REALM));
                return response.finish();
            }
            Error::InvalidToken(_) | Error::InsufficientScope(_) => {
                response.insert_header(("WWW-Authenticate", bearer_challenge(self)));
            }
            Error::TemporarilyUnavailable(_) => {
                response.insert_header(("Retry-After", "5"));
            }
            Error::Overloaded => {
                response.insert_header(("Retry-After", "1"));
            }
            // RFC 6585 §4: the status and Retry-After say it all; a plain body explains.
            Error::RateLimited { retry_after, .. } => {
                let secs = retry_after.as_secs().max(1);
                return response
                    .insert_header(("Retry-After", secs.to_string()))
                    .content_type("text/plain; charset=utf-8")
                    .body(format!("Too many requests. Try again in {secs} seconds.\n"));
            }
            _ => {}
        }
        response.json(json!({"error": self.code(), "error_description": self.description()}))
    }
}

/// What a page handler can fail with; rendered as `error.html` (or a redirect to sign in).
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// A sign-in request (or a step of it) that cannot go on, shown to the user: the client
    /// or redirect URI is not trusted, or a backend failed.
    #[error(transparent)]
    SignIn(#[from] Error),
    /// A sign-out request that cannot be honoured (RP-Initiated Logout 1.0 §2, §3).
    #[error("sign-out request rejected: {0}")]
    SignOut(Error),
    /// The pending request is gone or belongs to another browser.
    #[error("the sign-in request has expired")]
    Expired,
    /// The form's CSRF value does not match this browser.
    #[error("the form has expired")]
    FormExpired,
    /// An account page asked for without a session.
    #[error("sign-in required")]
    SignInRequired,
    /// A console page asked for without a session: sign in, then come back to `0` (a path
    /// of ours).
    #[error("sign-in required")]
    SignInFirst(String),
    /// A console page asked for by a user without the admin role.
    #[error("admins only")]
    AdminsOnly,
    /// The admin service refused an operator's request, or failed.
    #[error(transparent)]
    Admin(#[from] AdminError),
}

impl From<anyhow::Error> for PageError {
    fn from(error: anyhow::Error) -> Self {
        Self::SignIn(error.into())
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(error: crate::store::StoreError) -> Self {
        Self::SignIn(error.into())
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignIn(e) | Self::SignOut(e) => status_of(e),
            Self::Expired => StatusCode::BAD_REQUEST,
            Self::FormExpired => StatusCode::FORBIDDEN,
            Self::SignInRequired | Self::SignInFirst(_) => StatusCode::SEE_OTHER,
            Self::AdminsOnly => StatusCode::FORBIDDEN,
            Self::Admin(e) => admin_status(e),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        match self {
            Self::SignIn(e) | Self::Admin(AdminError::Service(e)) => sign_in_page(status, e),
            Self::SignOut(e) if status.is_server_error() => {
                log_cause(e);
                failure_page(status)
            }
            Self::SignOut(e) => rejection_page(status, "Sign-out request rejected", e),
            Self::Expired => views::error_page(
                status,
                "This sign-in request has expired",
                "Go back to the application and start signing in again.",
                None,
            ),
            Self::FormExpired => views::error_page(
                status,
                "Form expired",
                "Reload the page and try again.",
                None,
            ),
            Self::SignInRequired => reply::see_other(paths::ACCOUNT_LOGIN),
            Self::SignInFirst(next) => reply::see_other(&sign_in_then(next)),
            Self::AdminsOnly => views::error_page(
                status,
                "Admins only",
                "The admin console is for users with the admin role. Ask an admin to give it to you.",
                None,
            ),
            Self::Admin(AdminError::Unexpected(e)) => {
                tracing::error!(error = format!("{e:#}"), "console request failed");
                failure_page(status)
            }
            Self::Admin(e) => views::error_page(status, "Not done", &e.to_string(), None),
        }
    }
}

/// A protocol error or a backend failure, on a page.
fn sign_in_page(status: StatusCode, error: &Error) -> HttpResponse {
    match error {
        Error::Overloaded => busy_page(),
        e if status.is_server_error() => {
            log_cause(e);
            failure_page(status)
        }
        Error::RateLimited { retry_after, .. } => too_many_page(*retry_after),
        e => rejection_page(status, "Sign-in request rejected", e),
    }
}

/// The status of an admin service refusal, as the admin API gives it.
fn admin_status(error: &AdminError) -> StatusCode {
    match error {
        AdminError::Invalid { .. } => StatusCode::BAD_REQUEST,
        AdminError::NotFound { .. } => StatusCode::NOT_FOUND,
        AdminError::Conflict(_) | AdminError::VersionChanged => StatusCode::CONFLICT,
        AdminError::VersionRequired => StatusCode::PRECONDITION_REQUIRED,
        AdminError::Service(e) => status_of(e),
        AdminError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The account sign-in form, which comes back to `next` once signed in.
pub(super) fn sign_in_then(next: &str) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("next", next)
        .finish();
    format!("{}?{query}", paths::ACCOUNT_LOGIN)
}

fn rejection_page(status: StatusCode, title: &str, error: &Error) -> HttpResponse {
    views::error_page(status, title, &error.description(), Some(error.code()))
}

fn with_retry_after(mut page: HttpResponse, secs: u64) -> HttpResponse {
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&secs.to_string()) {
        page.headers_mut()
            .insert(actix_web::http::header::RETRY_AFTER, value);
    }
    page
}

/// RFC 6585 §4, for people: how long to wait, in words.
fn too_many_page(retry_after: std::time::Duration) -> HttpResponse {
    let secs = retry_after.as_secs().max(1);
    let wait = match secs {
        0..=90 => format!("{secs} seconds"),
        _ => format!("{} minutes", secs.div_ceil(60)),
    };
    let page = views::error_page(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many attempts",
        &format!("Too many attempts from your network. Please try again in {wait}."),
        None,
    );
    with_retry_after(page, secs)
}

fn busy_page() -> HttpResponse {
    let page = views::error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Busy",
        "We are handling many sign-ins right now. Please try again in a moment.",
        Some("temporarily_unavailable"),
    );
    with_retry_after(page, 1)
}

fn failure_page(status: StatusCode) -> HttpResponse {
    if status == StatusCode::SERVICE_UNAVAILABLE {
        return views::error_page(
            status,
            "Temporarily unavailable",
            "We can't complete sign-in right now. Please try again in a moment.",
            Some("temporarily_unavailable"),
        );
    }
    views::error_page(status, "Something went wrong", "Please try again.", None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;

    #[test]
    fn spec_codes_get_spec_statuses() {
        assert_eq!(
            status_of(&Error::invalid_grant("x")),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status_of(&Error::invalid_client("x", false)),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            status_of(&Error::InvalidToken("x".into())),
            StatusCode::UNAUTHORIZED
        );
        let outage: Error = StoreError(anyhow::anyhow!("refused")).into();
        assert_eq!(status_of(&outage), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(outage.code(), "temporarily_unavailable");
    }

    #[test]
    fn an_outage_deep_in_a_chain_is_still_an_outage() {
        let cause = anyhow::Error::new(StoreError(anyhow::anyhow!("refused")))
            .context("loading the pending request");
        let error = Error::from(cause);
        assert_eq!(status_of(&error), StatusCode::SERVICE_UNAVAILABLE);
        let page = PageError::from(error);
        assert_eq!(page.status_code(), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn failures_without_an_outage_are_500_whatever_their_text() {
        let error = Error::from(anyhow::anyhow!("connection timed out"));
        assert_eq!(status_of(&error), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(error.code(), "server_error");
    }

    #[test]
    fn basic_auth_failures_carry_www_authenticate() {
        let response = Error::invalid_client("bad", true).error_response();
        assert!(response.headers().contains_key("www-authenticate"));
        let response = Error::invalid_client("bad", false).error_response();
        assert!(!response.headers().contains_key("www-authenticate"));
    }

    #[test]
    fn bearer_challenges_follow_rfc_6750() {
        let missing = Error::MissingToken.error_response();
        assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
        let challenge = missing.headers().get("www-authenticate").unwrap();
        assert_eq!(challenge, BEARER_REALM);
        let scope = Error::InsufficientScope("needs openid".into()).error_response();
        assert_eq!(scope.status(), StatusCode::FORBIDDEN);
        let challenge = scope.headers().get("www-authenticate").unwrap();
        let challenge = challenge.to_str().unwrap();
        assert!(challenge.contains(r#"error="insufficient_scope""#));
        assert!(challenge.contains(r#"scope="openid""#));
    }

    #[test]
    fn unexpected_errors_hide_their_cause() {
        let error = Error::Unexpected(anyhow::anyhow!("db password is hunter2"));
        assert_eq!(
            error.description(),
            "the server failed to handle the request"
        );
    }

    #[test]
    fn page_errors_render_pages_with_their_status() {
        assert_eq!(PageError::Expired.status_code(), StatusCode::BAD_REQUEST);
        assert_eq!(PageError::FormExpired.status_code(), StatusCode::FORBIDDEN);
        let response = PageError::SignInRequired.error_response();
        let location = response.headers().get("location").unwrap();
        assert_eq!(location, paths::ACCOUNT_LOGIN);
    }
}
