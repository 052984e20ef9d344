//! The mail outbox end to end: messages queued in the database are delivered by the worker of
//! a running server, over SMTP to a real test listener or as `.eml` files, with retries, and
//! exactly once across instances.

mod delivery;
mod files;
mod instances;
mod outage;
mod settings;
pub mod smtp_server;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gatehouse::clock::{Clock, UnixTime};
use gatehouse::entities::mail_outbox;
use gatehouse::mail::{Action, Notice, Outgoing};
use gatehouse::settings::{MailTransport, Settings, SmtpSecurity};
use sea_orm::{EntityTrait, QueryOrder};

use crate::helpers::TestApp;
use smtp_server::SmtpServer;

/// Settings that send through `server`, with a short command timeout.
pub fn smtp_to(server: &SmtpServer) -> impl Fn(&mut Settings) + Clone + use<> {
    let port = server.port;
    move |s: &mut Settings| {
        s.mail.transport = MailTransport::Smtp;
        s.mail.smtp.host = Some("127.0.0.1".into());
        s.mail.smtp.port = port;
        s.mail.smtp.security = SmtpSecurity::None;
        s.mail.smtp.timeout_secs = 5;
    }
}

/// A notice with an action link, as the account flows send them.
pub fn notice(to: &str, subject: &str) -> Outgoing {
    Notice {
        subject,
        heading: "Confirm your email",
        lines: vec!["Someone asked to use this address.".into()],
        action: Some(Action {
            label: "Confirm",
            url: "https://id.example.com/verify?token=abc&next=1",
        }),
        footer: vec!["Ignore this if it wasn't you.".into()],
    }
    .to(to)
    .unwrap()
}

/// Queues `messages` in one transaction, as a caller of `enqueue` would.
pub async fn queue(app: &TestApp, messages: &[Outgoing]) {
    use sea_orm::TransactionTrait;
    let db = app.isolation.connect().await;
    let txn = db.begin().await.unwrap();
    let now = app.isolation.clock.now();
    for message in messages {
        gatehouse::mail::enqueue(&txn, message, now).await.unwrap();
    }
    txn.commit().await.unwrap();
    db.close().await.ok();
}

pub async fn outbox(app: &TestApp) -> Vec<mail_outbox::Model> {
    let db = app.isolation.connect().await;
    let rows = mail_outbox::Entity::find()
        .order_by_asc(mail_outbox::Column::Id)
        .all(&db)
        .await
        .unwrap();
    db.close().await.ok();
    rows
}

/// Waits (up to 15 s) until `done` holds for the outbox, and returns it.
pub async fn outbox_until(
    app: &TestApp,
    what: &str,
    done: impl Fn(&[mail_outbox::Model]) -> bool,
) -> Vec<mail_outbox::Model> {
    let start = Instant::now();
    loop {
        let rows = outbox(app).await;
        if done(&rows) {
            return rows;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "timed out waiting for {what}: {rows:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn now(app: &TestApp) -> UnixTime {
    app.isolation.clock.now()
}

/// A message as a mail client reads it.
#[derive(Debug)]
pub struct Eml {
    pub path: PathBuf,
    /// The first recipient's address, and the name shown with it.
    pub to: String,
    pub to_name: Option<String>,
    pub subject: String,
    pub content_type: String,
    pub text: String,
    pub html: String,
}

impl Eml {
    /// The first absolute URL of the text part: the message's action link.
    pub fn first_url(&self) -> Option<&str> {
        self.text
            .split_whitespace()
            .find(|w| w.starts_with("https://") || w.starts_with("http://"))
    }
}

/// Parses an RFC 5322 message with a text and an HTML alternative.
pub fn parse_eml(path: &Path, bytes: &[u8]) -> Eml {
    use mail_parser::MimeHeaders;
    let message = mail_parser::MessageParser::default().parse(bytes).unwrap();
    let to = message.to().and_then(|to| to.first()).unwrap();
    let content_type = message.content_type().unwrap();
    Eml {
        path: path.to_owned(),
        to: to.address().unwrap().to_owned(),
        to_name: to.name().map(str::to_owned),
        subject: message.subject().unwrap_or_default().to_owned(),
        content_type: format!(
            "{}/{}",
            content_type.ctype(),
            content_type.subtype().unwrap_or_default()
        ),
        text: message.body_text(0).unwrap_or_default().into_owned(),
        html: message.body_html(0).unwrap_or_default().into_owned(),
    }
}

/// The messages in `dir`, oldest first (names start with the time they were queued).
pub fn mail_files(dir: &Path) -> Vec<Eml> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| parse_eml(p, &std::fs::read(p).unwrap()))
        .collect()
}

/// Waits (up to 15 s) for the file transport of `app` to write a message to `to`.
pub async fn next_mail_to(app: &TestApp, to: &str) -> Eml {
    let start = Instant::now();
    loop {
        let found = mail_files(&app.isolation.mail_dir)
            .into_iter()
            .rev()
            .find(|m| m.to == to);
        if let Some(mail) = found {
            return mail;
        }
        assert!(start.elapsed() < Duration::from_secs(15), "no mail to {to}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
