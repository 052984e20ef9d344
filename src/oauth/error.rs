//! The protocol's error codes as one type (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1;
//! OIDC Core §3.1.2.6). `http::error` decides the transport.

use std::time::Duration;

use crate::accounts::password::Busy;
use crate::database::DatabaseUnavailable;
use crate::limits::Limited;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// RFC 6749 §5.2: malformed, missing or duplicated parameter.
    #[error("{0}")]
    InvalidRequest(String),
    /// RFC 6749 §5.2: client authentication failed. `basic` says whether Basic was tried,
    /// which decides the `WWW-Authenticate` header.
    #[error("{description}")]
    InvalidClient { description: String, basic: bool },
    /// RFC 6749 §5.2: bad, expired, revoked or foreign code / refresh token, PKCE mismatch.
    #[error("{0}")]
    InvalidGrant(String),
    /// RFC 6749 §5.2: the client may not use this grant.
    #[error("{0}")]
    UnauthorizedClient(String),
    #[error("{0}")]
    UnsupportedGrantType(String),
    /// RFC 6749 §4.1.2.1.
    #[error("{0}")]
    UnsupportedResponseType(String),
    #[error("{0}")]
    InvalidScope(String),
    /// RFC 8707 §2: a `resource` that is malformed, unknown or not allowed.
    #[error("{0}")]
    InvalidTarget(String),
    #[error("{0}")]
    AccessDenied(String),
    /// OIDC Core §3.1.2.6.
    #[error("{0}")]
    LoginRequired(String),
    #[error("{0}")]
    ConsentRequired(String),
    /// OIDC Core §3.1.2.6: a page must be shown (e.g. "verify your email") and the request
    /// said `prompt=none`.
    #[error("{0}")]
    InteractionRequired(String),
    /// OIDC Core §3.1.2.6: we do not accept request objects by value (§6.1)...
    #[error("{0}")]
    RequestNotSupported(String),
    /// ...nor by reference (§6.2).
    #[error("{0}")]
    RequestUriNotSupported(String),
    /// RFC 7591 §3.2.2: a redirect URI a registration may not have.
    #[error("{0}")]
    InvalidRedirectUri(String),
    /// RFC 7591 §3.2.2: any other metadata value that breaks a rule.
    #[error("{0}")]
    InvalidClientMetadata(String),
    /// RFC 6750 §3.1.
    #[error("{0}")]
    InvalidToken(String),
    /// RFC 6750 §3.1: the token lacks the scope the resource needs.
    #[error("{0}")]
    InsufficientScope(String),
    /// RFC 6750 §3.1: no credentials at all, so no error code is sent.
    #[error("the request carries no access token")]
    MissingToken,
    /// RFC 6749 §4.1.2.1; at JSON endpoints too, with 503, when the database or the store
    /// cannot be reached. The cause is logged, never sent.
    #[error("the service is temporarily unavailable")]
    TemporarilyUnavailable(#[source] anyhow::Error),
    /// Over a rate limit (RFC 6585 §4): HTTP 429 with `Retry-After`. JSON endpoints answer
    /// with a plain-text body (no OAuth code fits: `slow_down` is the device grant's, RFC
    /// 8628 §3.5); a redirect carries `temporarily_unavailable`, RFC 6749 §4.1.2.1.
    #[error("{description}")]
    RateLimited {
        description: String,
        retry_after: Duration,
    },
    /// Every password-hashing thread is busy and its queue full: 503 with `Retry-After`
    /// at once, rather than queue a login flood (`temporarily_unavailable`).
    #[error("the service is busy; try again in a moment")]
    Overloaded,
    /// A failure of ours: 500 `server_error`, the cause logged, never sent.
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

impl Error {
    /// The wire value of the `error` parameter.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidClient { .. } => "invalid_client",
            Self::InvalidGrant(_) => "invalid_grant",
            Self::UnauthorizedClient(_) => "unauthorized_client",
            Self::UnsupportedGrantType(_) => "unsupported_grant_type",
            Self::UnsupportedResponseType(_) => "unsupported_response_type",
            Self::InvalidScope(_) => "invalid_scope",
            Self::InvalidTarget(_) => "invalid_target",
            Self::AccessDenied(_) => "access_denied",
            Self::LoginRequired(_) => "login_required",
            Self::ConsentRequired(_) => "consent_required",
            Self::InteractionRequired(_) => "interaction_required",
            Self::RequestNotSupported(_) => "request_not_supported",
            Self::RequestUriNotSupported(_) => "request_uri_not_supported",
            Self::InvalidRedirectUri(_) => "invalid_redirect_uri",
            Self::InvalidClientMetadata(_) => "invalid_client_metadata",
            Self::InvalidToken(_) | Self::MissingToken => "invalid_token",
            Self::InsufficientScope(_) => "insufficient_scope",
            Self::TemporarilyUnavailable(_) | Self::RateLimited { .. } | Self::Overloaded => {
                "temporarily_unavailable"
            }
            Self::Unexpected(_) => "server_error",
        }
    }

    /// Human-readable `error_description`; never details of an unexpected failure. Some
    /// descriptions quote the request (a repeated name, an unknown `grant_type`), so any
    /// character RFC 6749 §5.2 forbids there (outside `%x20-21 / %x23-5B / %x5D-7E`, the
    /// set RFC 6750 §3 also requires) becomes `?`.
    pub fn description(&self) -> String {
        match self {
            Self::Unexpected(_) => "the server failed to handle the request".to_owned(),
            other => other
                .to_string()
                .chars()
                .map(|c| if allowed_in_description(c) { c } else { '?' })
                .collect(),
        }
    }

    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::InvalidRequest(d.into())
    }

    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::InvalidGrant(d.into())
    }

    pub fn invalid_client(d: impl Into<String>, basic: bool) -> Self {
        Self::InvalidClient {
            description: d.into(),
            basic,
        }
    }
}

/// RFC 6749 §5.2's `error_description` characters: printable ASCII but `"` and `\`.
pub(crate) fn allowed_in_description(c: char) -> bool {
    matches!(c, ' '..='~') && c != '"' && c != '\\'
}

/// Failures arrive as `anyhow` chains; whether one is an outage is a typed fact
/// ([`StoreError`], [`DatabaseUnavailable`]) set where the error was created.
impl From<anyhow::Error> for Error {
    fn from(error: anyhow::Error) -> Self {
        if error.chain().any(|cause| cause.is::<Busy>()) {
            Self::Overloaded
        } else if is_outage(&error) {
            Self::TemporarilyUnavailable(error)
        } else {
            Self::Unexpected(error)
        }
    }
}

/// Whether an error chain says a backend (database or store) could not be reached.
pub fn is_outage(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|cause| cause.is::<StoreError>() || cause.is::<DatabaseUnavailable>())
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Self::TemporarilyUnavailable(e.into())
    }
}

impl From<Limited> for Error {
    fn from(limited: Limited) -> Self {
        match limited {
            Limited::Over { retry_after, .. } => Self::RateLimited {
                description: "too many requests; try again later".to_owned(),
                retry_after,
            },
            Limited::Unavailable(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever a description quotes, what is sent stays in §5.2's set, and text already
        /// in it is sent unchanged.
        #[test]
        fn descriptions_stay_within_rfc_6749_section_5_2(quoted in any::<String>()) {
            let message = format!("grant_type {quoted} is not supported");
            let sent = Error::UnsupportedGrantType(message.clone()).description();
            prop_assert!(sent.chars().all(allowed_in_description), "{sent:?}");
            prop_assert_eq!(sent.chars().count(), message.chars().count());
            if message.chars().all(allowed_in_description) {
                prop_assert_eq!(sent, message);
            }
        }
    }

    #[test]
    fn quoted_control_characters_and_quotes_are_replaced() {
        let error = Error::invalid_request("parameter a\"b\\c\né is repeated");
        assert_eq!(error.description(), "parameter a?b?c?? is repeated");
    }
}
