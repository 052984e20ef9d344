//! The admin API's errors as RFC 9457 problem details (`application/problem+json`), with a
//! field-level `errors` list for a refused value; a missing or insufficient token also gets
//! its RFC 6750 §3 `WWW-Authenticate` challenge.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use super::error::status_of;
use crate::admin::AdminError;
use crate::admin::access::ADMIN_SCOPE;
use crate::oauth::Error;

#[derive(Debug, thiserror::Error)]
#[error("{title}: {detail}")]
pub struct Problem {
    status: StatusCode,
    title: &'static str,
    detail: String,
    /// The refused field and why, for a value that breaks a rule.
    field: Option<(&'static str, String)>,
    challenge: Option<String>,
}

impl Problem {
    fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            title,
            detail: detail.into(),
            field: None,
            challenge: None,
        }
    }

    /// A request body that is not the JSON the endpoint takes (malformed, an unknown or
    /// missing field, too large).
    pub fn bad_body(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "The request body is not valid",
            detail,
        )
    }

    /// A query string that is not what the endpoint takes (an unknown parameter among them:
    /// a misspelt filter must not silently widen a search).
    pub fn bad_query(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "The query is not valid", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not found", detail)
    }
}

impl From<AdminError> for Problem {
    fn from(error: AdminError) -> Self {
        let detail = error.to_string();
        match error {
            AdminError::Invalid { field, message } => Self {
                field: Some((field, message)),
                ..Self::new(StatusCode::BAD_REQUEST, "A value breaks a rule", detail)
            },
            AdminError::NotFound { .. } => Self::not_found(detail),
            AdminError::Conflict(_) => Self::new(StatusCode::CONFLICT, "Conflict", detail),
            AdminError::VersionRequired => Self::new(
                StatusCode::PRECONDITION_REQUIRED,
                "If-Match required",
                detail,
            ),
            AdminError::VersionChanged => {
                Self::new(StatusCode::PRECONDITION_FAILED, "Changed meanwhile", detail)
            }
            AdminError::Service(error) => error.into(),
            AdminError::Unexpected(cause) => Error::from(cause).into(),
        }
    }
}

/// An OAuth error on the admin API: the token's (401, 403, with their challenge) or a
/// backend's (503 or 500, without its cause).
impl From<Error> for Problem {
    fn from(error: Error) -> Self {
        let status = status_of(&error);
        let challenge = match &error {
            Error::MissingToken => Some(r#"Bearer realm="gatehouse""#.to_owned()),
            Error::InvalidToken(_) => Some(format!(
                r#"Bearer realm="gatehouse", error="invalid_token", error_description="{}""#,
                error.description()
            )),
            Error::InsufficientScope(_) => Some(format!(
                r#"Bearer realm="gatehouse", error="insufficient_scope", scope="{ADMIN_SCOPE}""#
            )),
            _ => None,
        };
        let (title, detail) = match status {
            StatusCode::UNAUTHORIZED => ("Authentication required", error.description()),
            StatusCode::FORBIDDEN => ("Not allowed", error.description()),
            _ => {
                tracing::error!(error = %error, "admin request failed");
                (
                    "The server could not do this now",
                    "try again later".to_owned(),
                )
            }
        };
        Self {
            challenge,
            ..Self::new(status, title, detail)
        }
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut body = json!({
            "type": "about:blank",
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if let Some((field, message)) = &self.field {
            body["errors"] = json!([{ "field": field, "message": message }]);
        }
        let mut response = HttpResponse::build(self.status);
        response
            .content_type("application/problem+json")
            .insert_header(("Cache-Control", "no-store"));
        if let Some(challenge) = &self.challenge {
            response.insert_header(("WWW-Authenticate", challenge.as_str()));
        }
        response.body(body.to_string())
    }
}
