//! Turning an outbox row into an RFC 5322 message, and handing it on: to an SMTP relay, or
//! into a directory as one `.eml` file.

use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use anyhow::Context;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::entities::mail_outbox;
use crate::settings::{MailSettings, MailTransport, SmtpSecurity, SmtpSettings};

/// Why a message was not handed on.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Trying again cannot help (the recipient is not an address): given up at once.
    #[error("{0}")]
    Permanent(String),
    /// The relay refused or could not be reached, or the disk is full: retried later.
    #[error("{0}")]
    Transient(String),
}

pub enum Transport {
    File { dir: PathBuf },
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

impl Transport {
    /// The transport `mail.transport` names; reads the SMTP password file now, so a missing
    /// secret stops the start rather than every delivery.
    pub fn from_settings(settings: &MailSettings) -> anyhow::Result<Self> {
        match settings.transport {
            MailTransport::File => Ok(Self::File {
                dir: settings.file_dir.clone(),
            }),
            MailTransport::Smtp => smtp(&settings.smtp).map(Self::Smtp),
        }
    }

    /// Delivers `message`, built from `row` (whose id and time name its file).
    pub async fn send(&self, row: &mail_outbox::Model, message: Message) -> Result<(), Failure> {
        match self {
            Self::Smtp(smtp) => {
                smtp.send(message).await.map_err(|e| {
                    // lettre's errors name the command and the server's reply, never credentials.
                    Failure::Transient(format!("smtp: {e}"))
                })?;
                Ok(())
            }
            Self::File { dir } => {
                let (dir, name) = (dir.clone(), format!("{}-{}.eml", row.created_at, row.id));
                let bytes = message.formatted();
                let written =
                    tokio::task::spawn_blocking(move || write_atomically(&dir, &name, &bytes))
                        .await
                        .map_err(|e| Failure::Transient(format!("file: {e}")))?;
                let path = written.map_err(|e| Failure::Transient(format!("file: {e:#}")))?;
                tracing::info!(path = %path.display(), "mail written");
                Ok(())
            }
        }
    }
}

fn smtp(settings: &SmtpSettings) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let host = settings.host.as_deref().unwrap_or_default();
    let builder = match settings.security {
        SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host),
        SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
        SmtpSecurity::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
            host,
        )),
    }
    .with_context(|| format!("invalid configuration: mail.smtp.host {host:?}"))?;
    let mut builder = builder
        .port(settings.port)
        .timeout(Some(settings.timeout()));
    if let (Some(username), Some(password)) = (&settings.username, settings.password()?) {
        let password = password.expose_secret().to_owned();
        builder = builder.credentials(Credentials::new(username.clone(), password));
    }
    Ok(builder.build())
}

/// The message of `row`, from `from`. Its Message-ID is the row's, so a message sent again
/// after a crash (see the worker) is recognisably the same one; its Date is when it was queued.
pub fn compose(row: &mail_outbox::Model, from: &Mailbox) -> Result<Message, Failure> {
    let to: Mailbox = row
        .recipient
        .parse()
        .map_err(|e| Failure::Permanent(format!("recipient is not an address: {e}")))?;
    let queued = UNIX_EPOCH + Duration::from_millis(u64::try_from(row.created_at).unwrap_or(0));
    let id = format!("<{}.{}@{}>", row.created_at, row.id, from.email.domain());
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(row.subject.clone())
        .date(queued)
        .message_id(Some(id))
        .multipart(MultiPart::alternative_plain_html(
            row.text_body.clone(),
            row.html_body.clone(),
        ))
        .map_err(|e| Failure::Permanent(format!("message: {e}")))
}

/// Writes `bytes` to `dir/name` so that a reader sees the whole file or none: a temporary
/// (dot-named) file, synced, then renamed; a second write of the same message replaces it.
fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> anyhow::Result<PathBuf> {
    use std::io::Write;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let temporary = dir.join(format!(".{}.eml.tmp", uuid::Uuid::new_v4().simple()));
    let path = dir.join(name);
    let result = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, &path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&temporary);
        return Err(e).with_context(|| format!("writing {}", path.display()));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> mail_outbox::Model {
        mail_outbox::Model {
            id: 7,
            recipient: "Ada <ada@example.com>".into(),
            subject: "Verify your email".into(),
            text_body: "Open https://id.example.com/verify?t=1\n".into(),
            html_body: "<p><a href=\"https://id.example.com/verify?t=1\">Verify</a></p>".into(),
            created_at: 1_700_000_000_000,
            attempts: 1,
            next_attempt_at: 0,
            claimed_until: None,
            sent_at: None,
            failed_at: None,
            last_error: None,
        }
    }

    #[test]
    fn a_message_has_both_parts_and_the_rows_identity() {
        let from: Mailbox = "Gatehouse <no-reply@id.example.com>".parse().unwrap();
        let text = String::from_utf8(compose(&row(), &from).unwrap().formatted()).unwrap();
        assert!(text.contains("To: Ada <ada@example.com>"), "{text}");
        assert!(
            text.contains("Message-ID: <1700000000000.7@id.example.com>"),
            "{text}"
        );
        assert!(text.contains("multipart/alternative"), "{text}");
        assert!(
            text.contains("text/plain") && text.contains("text/html"),
            "{text}"
        );
    }

    #[test]
    fn a_bad_recipient_is_permanent() {
        let from: Mailbox = "no-reply@localhost".parse().unwrap();
        let bad = mail_outbox::Model {
            recipient: "not an address".into(),
            ..row()
        };
        assert!(matches!(compose(&bad, &from), Err(Failure::Permanent(_))));
    }

    #[test]
    fn files_are_written_whole_with_no_temporary_left() {
        let dir = std::env::temp_dir().join(format!("gatehouse-mail-{}", uuid::Uuid::new_v4()));
        let path = write_atomically(&dir, "1-1.eml", b"Subject: x\r\n\r\nbody").unwrap();
        write_atomically(&dir, "1-1.eml", b"Subject: x\r\n\r\nbody").unwrap();
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["1-1.eml"]);
        assert_eq!(std::fs::read(&path).unwrap(), b"Subject: x\r\n\r\nbody");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
