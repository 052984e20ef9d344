//! `[mail]`: how the outbox worker delivers, how often it looks, and when it gives up.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    /// One `.eml` file per message in `mail.file_dir`: the embedded default, where a person
    /// (or a test) opens the message instead of a mailbox.
    File,
    Smtp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: a relay on the same host or network only.
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    pub transport: MailTransport,
    /// The `From` of every message, e.g. `Gatehouse <no-reply@id.example.com>`.
    pub from: String,
    /// Where the file transport writes, relative to the working directory unless absolute.
    pub file_dir: PathBuf,
    /// How often the worker looks for due messages (it also wakes when this instance queues).
    pub poll_interval_ms: u64,
    /// Delivery attempts before a message is given up (kept, with `failed_at` set).
    pub max_attempts: u32,
    /// The wait after the first failure, doubling after each further one up to the cap.
    pub retry_base_secs: u64,
    pub retry_max_secs: u64,
    /// Days a sent message stays in the outbox (its body holds links); 0 keeps it for good.
    /// Given-up messages are always kept.
    pub keep_sent_days: u32,
    pub smtp: SmtpSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: Option<String>,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub password_file: Option<PathBuf>,
    /// The deadline of each SMTP command, connecting included.
    pub timeout_secs: u64,
}

impl MailSettings {
    /// Checks what serde can't; called by `Settings::validate`.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.from.parse::<lettre::message::Mailbox>().map_err(|e| {
            anyhow::anyhow!("invalid configuration: mail.from is not an address ({e})")
        })?;
        if self.max_attempts == 0 {
            bail!("invalid configuration: mail.max_attempts must be at least 1");
        }
        if self.poll_interval_ms == 0 || self.retry_base_secs == 0 {
            bail!(
                "invalid configuration: mail.poll_interval_ms and mail.retry_base_secs must be greater than 0"
            );
        }
        if self.retry_max_secs < self.retry_base_secs {
            bail!(
                "invalid configuration: mail.retry_max_secs must not be below mail.retry_base_secs"
            );
        }
        if self.transport == MailTransport::Smtp {
            self.smtp.validate()?;
        }
        Ok(())
    }

    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms)
    }

    /// How long a sent message is kept, if it is ever purged.
    pub fn keep_sent(&self) -> Option<Duration> {
        (self.keep_sent_days > 0)
            .then(|| Duration::from_secs(u64::from(self.keep_sent_days) * 86_400))
    }

    /// The wait before the attempt after `failures` failed ones: base · 2^(failures−1), capped.
    pub fn retry_after(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(32);
        let secs = self.retry_base_secs.saturating_mul(1 << doublings);
        Duration::from_secs(secs.min(self.retry_max_secs))
    }
}

impl SmtpSettings {
    fn validate(&self) -> anyhow::Result<()> {
        if self.host.as_deref().is_none_or(|h| h.trim().is_empty()) {
            bail!(
                "invalid configuration: mail.smtp.host is required when mail.transport = \"smtp\""
            );
        }
        if self.password.is_some() && self.password_file.is_some() {
            bail!(
                "invalid configuration: set mail.smtp.password or mail.smtp.password_file, not both"
            );
        }
        let has_password = self.password.is_some() || self.password_file.is_some();
        if has_password != self.username.is_some() {
            bail!("invalid configuration: mail.smtp.username and a password go together");
        }
        if self.timeout_secs == 0 {
            bail!("invalid configuration: mail.smtp.timeout_secs must be greater than 0");
        }
        Ok(())
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    /// The password from `password`, or read from `password_file` (a container secret; one
    /// trailing newline is not part of it). Read once, at start.
    pub fn password(&self) -> anyhow::Result<Option<SecretString>> {
        match (&self.password, &self.password_file) {
            (Some(value), _) => Ok(Some(value.clone())),
            (None, Some(path)) => read_secret(path).map(Some),
            (None, None) => Ok(None),
        }
    }
}

fn read_secret(path: &Path) -> anyhow::Result<SecretString> {
    let raw = std::fs::read_to_string(path).with_context(|| {
        format!(
            "invalid configuration: mail.smtp.password_file: cannot read {}",
            path.display()
        )
    })?;
    let value = raw.strip_suffix('\n').unwrap_or(&raw);
    let value = value.strip_suffix('\r').unwrap_or(value);
    Ok(SecretString::from(value.to_owned()))
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use crate::settings::Settings;

    #[test]
    fn the_default_is_the_file_transport_and_smtp_needs_a_host() {
        let mut s = Settings::built_in().unwrap();
        assert_eq!(s.mail.transport, super::MailTransport::File);
        s.mail.transport = super::MailTransport::Smtp;
        let error = s.validate().unwrap_err().to_string();
        assert!(error.contains("mail.smtp.host"), "{error}");
        s.mail.smtp.host = Some("smtp.example.com".into());
        s.validate().unwrap();
        s.mail.from = "not an address".into();
        assert!(s.validate().unwrap_err().to_string().contains("mail.from"));
    }

    #[test]
    fn retries_double_up_to_the_cap() {
        let mut mail = Settings::built_in().unwrap().mail;
        (mail.retry_base_secs, mail.retry_max_secs) = (30, 100);
        let waits: Vec<u64> = (1..=5).map(|n| mail.retry_after(n).as_secs()).collect();
        assert_eq!(waits, [30, 60, 100, 100, 100]);
        assert_eq!(mail.retry_after(1000).as_secs(), 100);
    }

    #[test]
    fn a_password_file_loses_its_trailing_newline_only() {
        let path = std::env::temp_dir().join(format!("gatehouse-pw-{}", uuid::Uuid::new_v4()));
        std::fs::write(&path, " s3cret \n").unwrap();
        let mut smtp = Settings::built_in().unwrap().mail.smtp;
        smtp.password_file = Some(path.clone());
        let password = smtp.password().unwrap().unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(password.expose_secret(), " s3cret ");
    }
}
