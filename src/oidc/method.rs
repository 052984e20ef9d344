//! What a sign-in proved: a right password on its way to a session, the finished sign-in,
//! and the methods it used (RFC 8176 `amr`).

use serde::{Deserialize, Serialize};

/// A password that was right, kept until the sign-in completes (a second factor may come
/// between): whose it was, and the lockout subject its outcome counts for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PasswordPassed {
    pub user_id: String,
    /// Set when the first step was an upstream provider's sign-in instead of a password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<Upstream>,
    /// The account as `limits::lockout` names it (its device token is for it).
    pub(super) account: String,
    pub(super) lockout_subject: String,
}

/// An upstream provider's sign-in (federation): the provider, and the `amr` values the
/// upstream reported for it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Upstream {
    pub provider: String,
    pub amr: Vec<String>,
    /// The provider is trusted to have asked for a second factor (`trusted_mfa`).
    pub trusted_mfa: bool,
}

impl Upstream {
    /// The upstream sign-in behind a session that began with one (for a step-up: the
    /// raised session keeps its provider and the upstream's methods).
    pub fn resumed(session: &crate::sessions::Session) -> Option<Self> {
        let provider = session.idp.clone()?;
        let ours = [FEDERATED, "otp", "mfa"];
        Some(Self {
            provider,
            amr: session
                .amr
                .iter()
                .filter(|m| !ours.contains(&m.as_str()))
                .cloned()
                .collect(),
            trusted_mfa: false,
        })
    }
}

/// Ours, outside the RFC 8176 registry: the user signed in at an upstream provider.
pub const FEDERATED: &str = "fed";

impl Upstream {
    /// RFC 8176 values for a sign-in whose first step was this upstream's: `fed` (ours),
    /// the upstream's own values, then `mfa` when it is trusted for one or `how` added a
    /// code of ours.
    pub fn amr(&self, how: Method) -> Vec<String> {
        let mut amr = vec![FEDERATED.to_owned()];
        amr.extend(self.amr.iter().cloned());
        if how != Method::Password && how != Method::Upstream {
            amr.extend(["otp".to_owned(), "mfa".to_owned()]);
        }
        if self.trusted_mfa {
            amr.push("mfa".to_owned());
        }
        let mut seen = std::collections::HashSet::new();
        amr.retain(|m| seen.insert(m.clone()));
        amr
    }
}

/// A completed sign-in: the session cookie's value, the user, and a device token for the
/// browser to keep.
pub struct PasswordSignIn {
    pub cookie: String,
    pub user_id: String,
    pub device_token: String,
}

/// How a sign-in was made; its methods go into the session as `amr` (RFC 8176).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Password,
    /// An upstream provider's sign-in, alone (see [`Upstream`]).
    Upstream,
    /// The password, then a code from the authenticator app.
    PasswordAndTotp,
    /// The password, then one of the recovery codes.
    PasswordAndRecoveryCode,
    /// The password, then a code sent by email.
    PasswordAndEmailCode,
}

impl Method {
    /// RFC 8176 §2: `pwd`; every code of ours is a one-time password (`otp`), and with the
    /// password that makes `mfa`.
    pub fn amr(self) -> Vec<String> {
        let methods: &[&str] = match self {
            Self::Password => &["pwd"],
            Self::Upstream => &[FEDERATED],
            _ => &["pwd", "otp", "mfa"],
        };
        methods.iter().map(|m| (*m).to_owned()).collect()
    }

    /// The name the audit log records.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Upstream => "upstream",
            Self::PasswordAndTotp => "password+totp",
            Self::PasswordAndRecoveryCode => "password+recovery_code",
            Self::PasswordAndEmailCode => "password+email_code",
        }
    }
}

/// What a sign-in proved, as the session keeps it: RFC 8176 `amr`, and the upstream
/// provider (`idp`) when one signed the user in.
pub(super) struct Proof {
    pub amr: Vec<String>,
    pub idp: Option<String>,
}

impl Proof {
    /// A sign-in that completed with `how` after `passed`'s first step.
    pub fn of(passed: &PasswordPassed, how: Method) -> Self {
        match &passed.upstream {
            None => Self {
                amr: how.amr(),
                idp: None,
            },
            Some(upstream) => Self {
                amr: upstream.amr(how),
                idp: Some(upstream.provider.clone()),
            },
        }
    }

    /// The browser's session (`held`, this user's) raised by the second factor `how`: a
    /// session signed in upstream keeps its provider and the upstream's methods.
    pub fn raised(held: Option<crate::sessions::Session>, how: Method) -> Self {
        match held {
            Some(session) if session.amr.iter().any(|m| m == FEDERATED) => {
                let mut amr = session.amr;
                for added in ["otp", "mfa"] {
                    if !amr.iter().any(|m| m == added) {
                        amr.push(added.to_owned());
                    }
                }
                Self {
                    amr,
                    idp: session.idp,
                }
            }
            _ => Self {
                amr: how.amr(),
                idp: None,
            },
        }
    }
}
