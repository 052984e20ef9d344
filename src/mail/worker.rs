//! The outbox worker: claims one due message at a time, hands it to the transport, and
//! records the outcome — sent, due again after a backoff, or given up.
//!
//! Delivery is exactly once while workers live: a row is claimed (its lease set) before it
//! is sent, and no other worker takes a row whose lease runs. A worker that dies between the
//! send and the record leaves the row claimed; once the lease lapses another worker sends it
//! again (at least once across a crash). Each send is cut off well before its lease ends, so
//! a hung relay cannot make two workers send together. A stop never loses a message: rows
//! stay in the table until they are sent or given up.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use sea_orm::DatabaseConnection;
use tokio::sync::{Notify, watch};

use super::store;
use super::transport::{Failure, Transport, compose};
use crate::clock::{SharedClock, UnixTime};
use crate::entities::mail_outbox;
use crate::metrics::{MailFailure, Metrics};
use crate::settings::MailSettings;

/// The shortest time one send may take before it is abandoned (and retried).
const MIN_SEND_DEADLINE: Duration = Duration::from_secs(60);
/// How often sent messages past `mail.keep_sent_days` are deleted.
const PURGE_EVERY: Duration = Duration::from_secs(60 * 60);
/// How often recording an outcome is tried before the row is left to its lease.
const RECORD_TRIES: u32 = 3;

/// What one look at the outbox found.
enum Tick {
    Delivered,
    Idle,
    Unavailable(anyhow::Error),
}

/// Logs an outage once when it starts (each further failed tick at debug level) and once
/// when it ends; returns whether the outbox is reachable now.
fn report(was_reachable: bool, tick: Tick) -> bool {
    match tick {
        Tick::Unavailable(e) if was_reachable => {
            tracing::warn!(error = %format!("{e:#}"), "mail outbox unavailable; trying again later");
            false
        }
        Tick::Unavailable(e) => {
            tracing::debug!(error = %format!("{e:#}"), "mail outbox still unavailable");
            false
        }
        _ if !was_reachable => {
            tracing::info!("mail outbox reachable again");
            true
        }
        _ => true,
    }
}

pub struct Worker {
    pub db: DatabaseConnection,
    pub clock: SharedClock,
    pub transport: Transport,
    pub from: Mailbox,
    pub settings: MailSettings,
    /// When sent messages were last purged; `None` until the first tick.
    pub purged_at: Option<UnixTime>,
    pub metrics: Metrics,
}

impl Worker {
    /// A send that has not finished by then is abandoned: a few SMTP command timeouts.
    fn send_deadline(&self) -> Duration {
        MIN_SEND_DEADLINE.max(self.settings.smtp.timeout() * 6)
    }

    /// Twice the send deadline, so a claim outlives any send made under it.
    fn lease(&self) -> Duration {
        self.send_deadline() * 2
    }

    /// Delivers what is due, then waits for the poll interval, a wake-up or the stop.
    pub async fn run(mut self, wake: Arc<Notify>, mut stop: watch::Receiver<bool>) {
        let stopped = |stop: &watch::Receiver<bool>| *stop.borrow() || stop.has_changed().is_err();
        let mut reachable = true;
        loop {
            loop {
                if stopped(&stop) {
                    return;
                }
                let tick = self.deliver_next().await;
                let delivered = matches!(tick, Tick::Delivered);
                reachable = report(reachable, tick);
                if !delivered {
                    break;
                }
            }
            self.purge_if_due().await;
            tokio::select! {
                () = tokio::time::sleep(self.settings.poll_interval()) => {}
                () = wake.notified() => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Deletes sent messages past `mail.keep_sent_days`, at most every [`PURGE_EVERY`].
    async fn purge_if_due(&mut self) {
        let Some(keep) = self.settings.keep_sent() else {
            return;
        };
        let now = self.clock.now();
        if self.purged_at.is_some_and(|at| now.since(at) < PURGE_EVERY) {
            return;
        }
        self.purged_at = Some(now);
        let before = UnixTime::from_millis(
            now.millis()
                .saturating_sub(i64::try_from(keep.as_millis()).unwrap_or(i64::MAX)),
        );
        match store::purge_sent(&self.db, before).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "sent mail purged"),
            Err(e) => tracing::debug!(error = %format!("{e:#}"), "purging sent mail failed"),
        }
    }

    /// Claims and delivers one message, if one is due.
    async fn deliver_next(&self) -> Tick {
        let claimed = store::claim(&self.db, self.clock.now(), self.lease()).await;
        let row = match claimed {
            Ok(Some(row)) => row,
            Ok(None) => return Tick::Idle,
            Err(e) => return Tick::Unavailable(e),
        };
        let outcome = self.send(&row).await;
        self.record(&row, outcome).await;
        Tick::Delivered
    }

    async fn send(&self, row: &mail_outbox::Model) -> Result<(), Failure> {
        let message = compose(row, &self.from)?;
        tokio::time::timeout(self.send_deadline(), self.transport.send(row, message))
            .await
            .unwrap_or_else(|_| Err(Failure::Transient("delivery timed out".into())))
    }

    /// Stores what became of `row`, trying again briefly if the database is out of reach.
    async fn record(&self, row: &mail_outbox::Model, outcome: Result<(), Failure>) {
        for attempt in 1..=RECORD_TRIES {
            match self.record_once(row, &outcome).await {
                Ok(()) => return,
                Err(e) if attempt == RECORD_TRIES => {
                    tracing::error!(
                        id = row.id,
                        error = %format!("{e:#}"),
                        "mail outcome not recorded; the message is retried when its claim lapses"
                    );
                }
                Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
            }
        }
    }

    async fn record_once(
        &self,
        row: &mail_outbox::Model,
        outcome: &Result<(), Failure>,
    ) -> anyhow::Result<()> {
        let (id, attempts, now) = (row.id, row.attempts, self.clock.now());
        let error = match outcome {
            Ok(()) => {
                store::mark_sent(&self.db, id, now).await?;
                self.metrics.mail_sent();
                tracing::info!(id, attempts, "mail sent");
                return Ok(());
            }
            Err(error) => error,
        };
        let exhausted = u32::try_from(attempts).unwrap_or(u32::MAX) >= self.settings.max_attempts;
        if matches!(error, Failure::Permanent(_)) || exhausted {
            store::mark_failed(&self.db, id, now, &error.to_string()).await?;
            self.metrics.mail_failed(MailFailure::GivenUp);
            tracing::warn!(id, attempts, error = %error, "mail given up");
            return Ok(());
        }
        let wait = self
            .settings
            .retry_after(u32::try_from(attempts).unwrap_or(u32::MAX));
        store::mark_retry(&self.db, id, now.plus(wait), &error.to_string()).await?;
        self.metrics.mail_failed(MailFailure::Retried);
        let retry_in_secs = wait.as_secs();
        tracing::warn!(id, attempts, retry_in_secs, error = %error, "mail not delivered; will retry");
        Ok(())
    }
}
