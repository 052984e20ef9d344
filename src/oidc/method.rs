//! What a sign-in proved: a right password on its way to a session, the finished sign-in,
//! and the methods it used (RFC 8176 `amr`).

use serde::{Deserialize, Serialize};

/// A password that was right, kept until the sign-in completes (a second factor may come
/// between): whose it was, and the lockout subject its outcome counts for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PasswordPassed {
    pub user_id: String,
    /// The account as `limits::lockout` names it (its device token is for it).
    pub(super) account: String,
    pub(super) lockout_subject: String,
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
            _ => &["pwd", "otp", "mfa"],
        };
        methods.iter().map(|m| (*m).to_owned()).collect()
    }

    /// The name the audit log records.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::PasswordAndTotp => "password+totp",
            Self::PasswordAndRecoveryCode => "password+recovery_code",
            Self::PasswordAndEmailCode => "password+email_code",
        }
    }
}
