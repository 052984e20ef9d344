//! Mail, off the request path and durable: a message is an outbox row written in the same
//! transaction as the change that causes it; a background worker delivers it (SMTP, or
//! `.eml` files in the embedded default) with retries, and several instances never send
//! one row twice.

pub mod messages;

use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};

use crate::clock::UnixTime;
use crate::database::DbContext;
use crate::entities::mail_outbox;

pub use messages::{Action, Notice};

/// A message ready for the outbox: one recipient, a subject, and its text and HTML parts.
#[derive(Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The body carries one-time links: never in a log line.
impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outgoing")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Queues `message` on `conn` — pass the transaction of the change that causes the
/// message, so the two commit (or roll back) together. Due at once.
pub async fn enqueue<C: ConnectionTrait>(
    conn: &C,
    message: &Outgoing,
    now: UnixTime,
) -> anyhow::Result<()> {
    let row = mail_outbox::ActiveModel {
        recipient: Set(message.to.clone()),
        subject: Set(message.subject.clone()),
        text_body: Set(message.text.clone()),
        html_body: Set(message.html.clone()),
        created_at: Set(now.millis()),
        attempts: Set(0),
        next_attempt_at: Set(now.millis()),
        claimed_until: Set(None),
        sent_at: Set(None),
        failed_at: Set(None),
        last_error: Set(None),
        ..Default::default()
    };
    mail_outbox::Entity::insert(row)
        .exec_without_returning(conn)
        .await
        .db_context("queueing a mail")?;
    Ok(())
}
