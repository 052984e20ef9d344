//! Why an upstream round trip stopped, and the outcomes it is counted by.

use super::Purpose;
use crate::oauth;

/// Why an upstream sign-in did not go on; each is a page for the user, never a 500.
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    #[error("there is no such provider")]
    UnknownProvider,
    #[error("the provider cannot be reached")]
    Unreachable,
    #[error("the sign-in was not started in this browser, or has expired")]
    Expired,
    /// The upstream answered with an error (`access_denied` when the user said no).
    #[error("the provider answered {0}")]
    Denied(String),
    /// The upstream's answer failed a check: `iss`, the token response, the ID token.
    #[error("the provider's answer was refused: {0}")]
    Rejected(String),
    #[error("no account is linked to this upstream account")]
    NoAccount,
    #[error("an account with this email exists and the upstream did not verify it")]
    EmailTaken,
    #[error("the provider did not share an email address")]
    NoEmail,
    #[error("this upstream account is linked to another user")]
    LinkedElsewhere,
    #[error("the account is disabled")]
    Disabled,
    #[error("the last way to sign in cannot be removed")]
    LastMethod,
    #[error(transparent)]
    Service(#[from] oauth::Error),
}

impl From<anyhow::Error> for FederationError {
    fn from(error: anyhow::Error) -> Self {
        Self::Service(error.into())
    }
}

impl From<crate::store::StoreError> for FederationError {
    fn from(error: crate::store::StoreError) -> Self {
        Self::Service(error.into())
    }
}

/// The upstream could not be reached (discovery, keys, token or profile endpoint).
#[derive(Debug)]
pub struct Unreachable;

impl From<Unreachable> for FederationError {
    fn from(_: Unreachable) -> Self {
        Self::Unreachable
    }
}

/// A round trip that failed at the callback, with why it was made when that is known (the
/// page then leads back to where the user came from).
#[derive(Debug)]
pub struct Failed {
    pub error: FederationError,
    pub purpose: Option<Purpose>,
}

impl<E: Into<FederationError>> From<E> for Failed {
    fn from(error: E) -> Self {
        Self {
            error: error.into(),
            purpose: None,
        }
    }
}

/// Every outcome a round trip is counted by (`gatehouse_upstream_sign_ins_total`).
pub const OUTCOMES: [&str; 14] = [
    "success",
    "unknown",
    "unreachable",
    "expired",
    "cancelled",
    "denied",
    "rejected",
    "no_account",
    "email_taken",
    "no_email",
    "linked_elsewhere",
    "disabled",
    "last_method",
    "unavailable",
];

impl FederationError {
    /// Why, in one word: the outcome it is counted by and the page it is shown as.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::UnknownProvider => "unknown",
            Self::Unreachable => "unreachable",
            Self::Expired => "expired",
            Self::Denied(code) if code == "access_denied" => "cancelled",
            Self::Denied(_) => "denied",
            Self::Rejected(_) => "rejected",
            Self::NoAccount => "no_account",
            Self::EmailTaken => "email_taken",
            Self::NoEmail => "no_email",
            Self::LinkedElsewhere => "linked_elsewhere",
            Self::Disabled => "disabled",
            Self::LastMethod => "last_method",
            Self::Service(_) => "unavailable",
        }
    }
}
