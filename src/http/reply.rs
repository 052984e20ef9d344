//! Answers to the browser: redirects to the client (query or form_post, always with `iss`,
//! RFC 9207), and friendly error pages for what must not go to the client.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;

use super::authorize::page_status;
use super::views::{self, FormPostPage};
use crate::oauth::Error;
use crate::oauth::authorize::{ReplyTo, ResponseMode};
use crate::settings::Issuer;

pub fn to_client_code(issuer: &Issuer, to: &ReplyTo, code: &str) -> HttpResponse {
    let mut fields = vec![("code", code)];
    if let Some(state) = &to.state {
        fields.push(("state", state));
    }
    fields.push(("iss", issuer.as_str()));
    respond(to, &fields)
}

/// RFC 6749 §4.1.2.1 (and OIDC Core §3.1.2.6) error response to the client.
pub fn to_client_error(issuer: &Issuer, to: &ReplyTo, error: &Error) -> HttpResponse {
    if matches!(
        error,
        Error::Unexpected(_) | Error::TemporarilyUnavailable(_)
    ) {
        // Outages are shown to the user; the client could do nothing useful with them.
        if let Error::Unexpected(cause) = error {
            if !crate::oauth::error::is_outage(cause) {
                tracing::error!(error = format!("{cause:#}"), "authorization failed");
            }
        }
        return error_page(error);
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
        ResponseMode::Query => {
            let mut url = match url::Url::parse(&to.redirect_uri) {
                Ok(url) => url,
                Err(_) => {
                    return error_page(&Error::invalid_request("the redirect URI is malformed"));
                }
            };
            url.query_pairs_mut().extend_pairs(fields.iter().copied());
            HttpResponse::Found()
                .insert_header(("Location", url.as_str()))
                .insert_header(("Cache-Control", "no-store"))
                .finish()
        }
        ResponseMode::FormPost => {
            let mut page = views::render(
                StatusCode::OK,
                &FormPostPage {
                    action: &to.redirect_uri,
                    fields: fields.to_vec(),
                },
            );
            // This page must be allowed to post to the client; everything else stays locked.
            let csp = "default-src 'none'; script-src 'self'; form-action *; frame-ancestors 'none'; base-uri 'none'";
            if let Ok(value) = actix_web::http::header::HeaderValue::from_str(csp) {
                page.headers_mut()
                    .insert(actix_web::http::header::CONTENT_SECURITY_POLICY, value);
            }
            page
        }
    }
}

pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", location))
        .insert_header(("Cache-Control", "no-store"))
        .finish()
}

pub fn error_page(error: &Error) -> HttpResponse {
    let status = page_status(error);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        return views::error_page(
            status,
            "Temporarily unavailable",
            "We can't complete sign-in right now. Please try again in a moment.",
            Some("temporarily_unavailable"),
        );
    }
    if let Error::Unexpected(cause) = error {
        tracing::error!(error = format!("{cause:#}"), "page failed");
        return views::error_page(status, "Something went wrong", "Please try again.", None);
    }
    views::error_page(
        status,
        "Sign-in request rejected",
        &error.description(),
        Some(error.code()),
    )
}

pub fn expired_page() -> HttpResponse {
    views::error_page(
        StatusCode::BAD_REQUEST,
        "This sign-in request has expired",
        "Go back to the application and start signing in again.",
        None,
    )
}
