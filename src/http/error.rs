//! Maps `oauth::Error` to the JSON transport of RFC 6749 §5.2 / RFC 6750 §3.
//! Redirect and page transports for the authorization endpoint live in `http::authorize`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::oauth::Error;
use crate::oauth::error::is_outage;

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        match self {
            Error::InvalidClient { .. } | Error::InvalidToken(_) | Error::MissingToken => {
                StatusCode::UNAUTHORIZED
            }
            Error::AccessDenied(_) | Error::InsufficientScope(_) => StatusCode::FORBIDDEN,
            Error::TemporarilyUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Unexpected(e) if is_outage(e) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Error::Unexpected(cause) = self {
            tracing::error!(error = format!("{cause:#}"), "request failed");
        }
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
            Error::InvalidToken(d) => {
                let value = format!(
                    r#"Bearer error="invalid_token", error_description="{}""#,
                    d.replace('"', "'")
                );
                response.insert_header(("WWW-Authenticate", value));
            }
            Error::TemporarilyUnavailable(_) => {
                response.insert_header(("Retry-After", "5"));
            }
            _ => {}
        }
        response.json(json!({"error": self.code(), "error_description": self.description()}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_codes_get_spec_statuses() {
        assert_eq!(
            Error::invalid_grant("x").status_code(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            Error::invalid_client("x", false).status_code(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            Error::InvalidToken("x".into()).status_code(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            Error::TemporarilyUnavailable("x".into()).status_code(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[test]
    fn basic_auth_failures_carry_www_authenticate() {
        let response = Error::invalid_client("bad", true).error_response();
        assert!(response.headers().contains_key("www-authenticate"));
        let response = Error::invalid_client("bad", false).error_response();
        assert!(!response.headers().contains_key("www-authenticate"));
    }

    #[test]
    fn unexpected_errors_hide_their_cause() {
        let error = Error::Unexpected(anyhow::anyhow!("db password is hunter2"));
        assert_eq!(
            error.description(),
            "the server failed to handle the request"
        );
    }
}
