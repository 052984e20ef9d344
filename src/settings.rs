//! Typed configuration: built-in defaults ← `config/default.toml` ← profile file ← `GATEHOUSE__*` env.

use std::path::{Path, PathBuf};

use anyhow::bail;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

mod federation;
mod flows;
mod issuer;
mod mail;
mod observe;
mod redis;
mod server;

pub use federation::{ClaimMap, FederationSettings, LinkPolicy, ProviderKind, ProviderSettings};
pub use flows::{
    AdminSettings, MfaSettings, RecoverySettings, RegistrationMode, RegistrationSettings,
    SignupSettings,
};
pub use issuer::Issuer;
pub use mail::{MailSettings, MailTransport, SmtpSecurity, SmtpSettings};
pub use observe::{MetricsSettings, OtelSettings};
pub use redis::{RedisMode, RedisSettings};
pub use server::{ServerSettings, TlsSettings};

/// The defaults ship inside the binary so it runs from any directory.
const BUILT_IN_DEFAULTS: &str = include_str!("../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub keys: KeySettings,
    pub tokens: TokenSettings,
    pub sessions: SessionSettings,
    pub passwords: PasswordSettings,
    pub limits: LimitSettings,
    pub lockout: LockoutSettings,
    pub audit: AuditSettings,
    pub signup: SignupSettings,
    pub recovery: RecoverySettings,
    pub mfa: MfaSettings,
    pub admin: AdminSettings,
    pub registration: RegistrationSettings,
    pub mail: MailSettings,
    pub log: LogSettings,
    pub metrics: MetricsSettings,
    pub otel: OtelSettings,
    pub federation: FederationSettings,
    pub demo: DemoSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: SecretString,
    pub max_connections: u32,
    pub connect_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySettings {
    pub encryption_key: Option<SecretString>,
    pub encryption_key_file: Option<PathBuf>,
    /// During a rotation, the key being replaced: tried when the current key cannot decrypt
    /// a stored secret, never used to encrypt. Remove it once `gatehouse keys rewrap` ran.
    pub previous_encryption_key: Option<SecretString>,
    pub previous_encryption_key_file: Option<PathBuf>,
    pub rsa_bits: u32,
    /// `RS256` (always), `ES256`, `EdDSA`: the algorithms keys are kept for.
    pub algorithms: Vec<String>,
    /// The least time a key stays published after it stops signing (it stays at least
    /// until every token it signed has expired).
    pub verification_window_secs: i64,
    /// How long a rotated-in key is published before it signs.
    pub publish_delay_secs: u64,
    /// Keys older than this are rotated by the servers; 0 is manual rotation only.
    pub rotate_after_days: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSettings {
    pub access_token_ttl_secs: i64,
    pub id_token_ttl_secs: i64,
    pub authorization_code_ttl_secs: i64,
    pub refresh_token_idle_ttl_secs: i64,
    pub refresh_token_max_ttl_secs: i64,
    pub refresh_retry_grace_secs: i64,
    pub client_assertion_max_lifetime_secs: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CookieSecure {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CookieSameSite {
    Lax,
    Strict,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSettings {
    pub cookie_name: String,
    pub cookie_secure: CookieSecure,
    pub cookie_same_site: CookieSameSite,
    pub ttl_secs: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordSettings {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    pub max_concurrent: usize,
    /// Verifications allowed to wait for a hashing thread; beyond that a sign-in is
    /// answered 503 at once. 0 means four per hashing thread.
    pub max_queued: usize,
    /// The least zxcvbn score (0–4) a new password must reach (see `accounts::policy`).
    pub min_strength: u8,
}

/// "`limit` requests per `window_secs`", per subject; a limit of 0 is no limit.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateSettings {
    pub limit: u32,
    pub window_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    pub login_per_ip: RateSettings,
    pub login_failures_per_ip: RateSettings,
    pub authorize_per_ip: RateSettings,
    pub token_failures_per_ip: RateSettings,
    pub token_per_client: RateSettings,
    /// Registrations submitted from one address.
    pub signup_per_ip: RateSettings,
    /// Password reset requests and verification resends from one address.
    pub recovery_per_ip: RateSettings,
    /// Registration, verification and reset mails to one address, whoever asks: past it,
    /// further requests are answered as usual and send nothing.
    pub mail_per_address: RateSettings,
    /// Dynamic client registrations (RFC 7591) from one address.
    pub registration_per_ip: RateSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockoutSettings {
    /// Failed sign-ins within `window_secs` that lock an account; 0 turns lockout off.
    pub failures: u32,
    pub window_secs: u64,
    pub delay_secs: u64,
    pub max_delay_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// Days an audit event is kept.
    pub retention_days: u32,
    /// Events waiting to be written; when full, further events are dropped (and counted)
    /// rather than delay a request.
    pub queue: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    pub filter: String,
    /// How long info lines may wait to be written together; 0 writes every line at once.
    pub flush_interval_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoSettings {
    pub seed: bool,
}

impl Settings {
    /// Loads the layered configuration; the profile file comes from `GATEHOUSE_CONFIG`.
    pub fn load() -> anyhow::Result<Self> {
        let profile = std::env::var_os("GATEHOUSE_CONFIG").map(PathBuf::from);
        Self::load_from(Path::new("config/default.toml"), profile.as_deref())
    }

    /// Like [`Settings::load`] with explicit files, so tests and tools can pick their own.
    pub fn load_from(defaults: &Path, profile: Option<&Path>) -> anyhow::Result<Self> {
        let mut figment = Figment::new().merge(Toml::string(BUILT_IN_DEFAULTS));
        if defaults.exists() {
            figment = figment.merge(Toml::file(defaults));
        }
        if let Some(profile) = profile {
            if !profile.exists() {
                bail!("configuration file {} does not exist", profile.display());
            }
            figment = figment.merge(Toml::file(profile));
        }
        let figment = figment.merge(Env::prefixed("GATEHOUSE__").split("__"));
        Self::from_figment(figment)
    }

    /// Only the built-in defaults; the starting point for tests.
    pub fn built_in() -> anyhow::Result<Self> {
        Self::from_figment(Figment::new().merge(Toml::string(BUILT_IN_DEFAULTS)))
    }

    fn from_figment(figment: Figment) -> anyhow::Result<Self> {
        let settings: Settings = figment
            .extract()
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks what serde can't: values that parse but make no sense.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.issuer()?;
        crate::proxies::TrustedProxies::parse(&self.server.trusted_proxies)?;
        let t = &self.tokens;
        positive("tokens.access_token_ttl_secs", t.access_token_ttl_secs)?;
        positive("tokens.id_token_ttl_secs", t.id_token_ttl_secs)?;
        positive(
            "tokens.refresh_token_idle_ttl_secs",
            t.refresh_token_idle_ttl_secs,
        )?;
        positive(
            "tokens.refresh_token_max_ttl_secs",
            t.refresh_token_max_ttl_secs,
        )?;
        positive("sessions.ttl_secs", self.sessions.ttl_secs)?;
        if self.signup.verification_ttl_secs == 0 || self.recovery.reset_ttl_secs == 0 {
            bail!(
                "invalid configuration: signup.verification_ttl_secs and recovery.reset_ttl_secs must be greater than 0"
            );
        }
        positive(
            "tokens.client_assertion_max_lifetime_secs",
            t.client_assertion_max_lifetime_secs,
        )?;
        let mfa = &self.mfa;
        if mfa.email_code_ttl_secs == 0 || !(1..=20).contains(&mfa.attempts) {
            bail!(
                "invalid configuration: mfa.email_code_ttl_secs must be greater than 0 and mfa.attempts 1..=20"
            );
        }
        if !(1..=60).contains(&t.authorization_code_ttl_secs) {
            bail!(
                "invalid configuration: tokens.authorization_code_ttl_secs must be 1..=60 (RFC 9700 §4.2)"
            );
        }
        if t.refresh_retry_grace_secs < 0 {
            bail!("invalid configuration: tokens.refresh_retry_grace_secs must not be negative");
        }
        if self.keys.rsa_bits < 2048 {
            bail!("invalid configuration: keys.rsa_bits must be at least 2048");
        }
        if self.passwords.memory_kib < 19456 || self.passwords.iterations < 2 {
            bail!(
                "invalid configuration: passwords must be at least memory_kib = 19456, iterations = 2 (OWASP)"
            );
        }
        if self.passwords.min_strength > 4 {
            bail!("invalid configuration: passwords.min_strength must be 0..=4 (a zxcvbn score)");
        }
        self.database.kind()?;
        self.mail.validate()?;
        self.redis.validate()?;
        self.server.tls.files()?;
        self.otel.validate()?;
        self.federation.validate(self.sessions.cookie_same_site)?;
        Ok(())
    }

    /// The issuer as a typed value; the string form is used verbatim in tokens and metadata.
    pub fn issuer(&self) -> anyhow::Result<Issuer> {
        Issuer::parse(&self.server.issuer)
    }
}

fn positive(key: &str, value: i64) -> anyhow::Result<()> {
    if value <= 0 {
        bail!("invalid configuration: {key} must be greater than 0");
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

impl DatabaseSettings {
    pub fn kind(&self) -> anyhow::Result<DatabaseKind> {
        let url = self.url.expose_secret();
        if url.starts_with("sqlite:") {
            Ok(DatabaseKind::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DatabaseKind::Postgres)
        } else {
            bail!("invalid configuration: database.url must start with sqlite: or postgres://")
        }
    }

    /// The SQLite file the URL points at, for keeping generated files beside it.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        let url = self.url.expose_secret();
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))?;
        let path = rest.split('?').next().unwrap_or_default();
        (!path.is_empty() && !path.starts_with(":memory:")).then(|| PathBuf::from(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_defaults_are_valid() {
        let s = Settings::built_in().unwrap();
        assert_eq!(s.server.issuer, "http://127.0.0.1:8080");
        assert!(s.redis.url.is_none());
        assert!(s.demo.seed);
    }

    #[test]
    fn sqlite_path_is_extracted() {
        let s = Settings::built_in().unwrap();
        assert_eq!(
            s.database.sqlite_path(),
            Some(PathBuf::from("gatehouse.db"))
        );
    }
}
