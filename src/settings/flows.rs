//! The settings of the flows around the protocol: self-service sign-up and recovery, second
//! factors, operators' changes and dynamic client registration.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignupSettings {
    /// Whether people may create their own accounts at `/register`.
    pub enabled: bool,
    /// How long an email verification link works.
    pub verification_ttl_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoverySettings {
    /// How long a password reset link works.
    pub reset_ttl_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfaSettings {
    /// The name authenticator apps show beside the account (the `otpauth` issuer).
    pub totp_issuer: String,
    /// How long a code sent by email at sign-in works.
    pub email_code_ttl_secs: u64,
    /// Wrong codes one sign-in may try before the password is asked again; each also
    /// counts toward the account's lockout.
    pub attempts: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSettings {
    /// How long a client's old secret keeps working after a rotation, unless the operator
    /// gives another overlap (0, after a leak).
    pub secret_rotation_overlap_secs: u64,
}

/// Who may register a client at the registration endpoint (RFC 7591 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationMode {
    /// No registration endpoint: only operators register clients.
    Off,
    /// Anyone may register (rate-limited per address).
    Open,
    /// Only with an initial access token (RFC 7591 §3.1) an operator made.
    InitialToken,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationSettings {
    pub mode: RegistrationMode,
}
