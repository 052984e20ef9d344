//! Why a session ends.

/// Why a session ends, as the audit log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// RP-initiated logout, or the user's own sign-out.
    Logout,
    /// The user ended it from the account page.
    ByUser,
    /// Another user signed in in the same browser.
    SignedInAsAnother,
    /// The user changed their password (in another session).
    PasswordChanged,
    /// The password was reset through the emailed link.
    PasswordReset,
    /// An operator ended it (the admin API).
    ByOperator,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::ByUser => "by_user",
            Self::SignedInAsAnother => "signed_in_as_another",
            Self::PasswordChanged => "password_changed",
            Self::PasswordReset => "password_reset",
            Self::ByOperator => "by_operator",
        }
    }
}
