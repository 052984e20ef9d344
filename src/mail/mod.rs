//! Mail, off the request path and durable: a message is an outbox row written in the same
//! transaction as the change that causes it; a background worker delivers it (SMTP, or
//! `.eml` files in the embedded default) with retries, and several instances never send
//! one row twice.

pub mod messages;
mod store;
mod transport;
mod worker;

use std::sync::{Arc, Mutex};

use anyhow::Context;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::clock::{SharedClock, UnixTime};
use crate::database::DbContext;
use crate::entities::mail_outbox;
use crate::metrics::{Metrics, Sampler};
use crate::settings::MailSettings;

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

/// The handle to this instance's outbox worker; cheap to clone. The worker runs until
/// [`stop`](Self::stop) or until the last handle is dropped.
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
}

struct Inner {
    wake: Arc<Notify>,
    stop: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Mailer {
    /// Builds the transport `settings` name (reading the SMTP password file now) and starts
    /// the worker on the current runtime.
    pub fn start(
        db: DatabaseConnection,
        settings: &MailSettings,
        (clock, metrics): (SharedClock, &Metrics),
    ) -> anyhow::Result<Self> {
        let worker = worker::Worker {
            metrics: metrics.clone(),
            db,
            clock,
            transport: transport::Transport::from_settings(settings)?,
            from: settings
                .from
                .parse()
                .context("invalid configuration: mail.from")?,
            settings: settings.clone(),
            purged_at: None,
        };
        let wake = Arc::new(Notify::new());
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(worker.run(wake.clone(), stopped));
        Ok(Self {
            inner: Arc::new(Inner {
                wake,
                stop,
                task: Mutex::new(Some(task)),
            }),
        })
    }

    /// Looks at the outbox now rather than at the next poll: call it after committing a
    /// transaction that queued a message ([`enqueue`]). Only this instance's worker wakes;
    /// the others find the message at their next poll.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Stops the worker after the message in hand, if any, and waits for it. Queued
    /// messages stay in the outbox for the next start (or another instance).
    pub async fn stop(&self) {
        self.inner.stop.send_replace(true);
        let task = self
            .inner
            .task
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

/// Brings the outbox gauges up to date before a scrape (one indexed query). The outbox is
/// shared, so every instance reports the same numbers: aggregate them with `max`.
pub fn outbox_sampler(db: DatabaseConnection, clock: SharedClock, metrics: Metrics) -> Sampler {
    Box::new(move || {
        let (db, clock, metrics) = (db.clone(), clock.clone(), metrics.clone());
        Box::pin(async move {
            match store::depth(&db).await {
                Ok((pending, given_up, oldest)) => {
                    let now = clock.now();
                    let age = oldest.map_or(std::time::Duration::ZERO, |queued| {
                        now.since(UnixTime::from_millis(queued))
                    });
                    metrics.outbox(pending, given_up, age);
                }
                Err(e) => tracing::debug!(error = %format!("{e:#}"), "outbox not counted"),
            }
        })
    })
}
