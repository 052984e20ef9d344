//! The audit writer: drains the queue in batches (one multi-row insert each) and purges
//! events past their retention once an hour.

use std::path::Path;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use serde_json::Value;
use tokio::sync::mpsc;

use super::{Event, Origin, store};
use crate::clock::{SharedClock, UnixTime};
use crate::database::sqlite_in_place;
use crate::entities::audit_events;

/// The most rows one insert carries.
const BATCH: usize = 500;
/// How long a batch gathers after its first event: at thousands of events a second, one
/// commit per batch instead of one per few events. Events are in the log stream at once;
/// only their rows wait (and a crash loses at most this much of them).
const GATHER: Duration = Duration::from_millis(200);
const PURGE_EVERY: Duration = Duration::from_secs(60 * 60);

/// A queued event, ready to insert (its detail serialised once, for the row and the log).
pub struct Row(pub(super) audit_events::Model);

impl Row {
    pub fn new(origin: &Origin, event: Event, at: UnixTime) -> Self {
        Self(audit_events::Model {
            id: 0,
            at: at.millis(),
            kind: event.kind.as_str().to_owned(),
            user_id: event.user_id,
            client_id: event.client_id,
            ip: origin.ip.clone(),
            user_agent: origin.user_agent.chars().take(512).collect(),
            request_id: origin.request_id.clone(),
            detail: Value::Object(event.detail).to_string(),
        })
    }
}

/// Starts the writer (on a thread of its own with its own connection for a SQLite file,
/// as a task on the pool otherwise) and the purge task.
pub fn spawn(
    db: DatabaseConnection,
    sqlite_file: Option<&Path>,
    rows: mpsc::Receiver<Row>,
    (clock, retention_days): (SharedClock, u32),
) -> anyhow::Result<()> {
    match sqlite_file {
        Some(path) => {
            let conn = sqlite_in_place(path)?;
            std::thread::Builder::new()
                .name("gatehouse-audit".into())
                .spawn(move || write_in_place(conn, rows))?;
        }
        None => {
            tokio::spawn(write(db.clone(), rows));
        }
    }
    tokio::spawn(purge(db, clock, retention_days));
    Ok(())
}

/// The SQLite writer: blocks for the first row of a batch, takes what else is queued.
fn write_in_place(mut conn: rusqlite::Connection, mut rows: mpsc::Receiver<Row>) {
    while let Some(Row(first)) = rows.blocking_recv() {
        let mut batch = vec![first];
        std::thread::sleep(GATHER);
        while batch.len() < BATCH {
            match rows.try_recv() {
                Ok(Row(model)) => batch.push(model),
                Err(_) => break,
            }
        }
        if let Err(first) = store::insert_in_place(&mut conn, &batch) {
            std::thread::sleep(Duration::from_secs(1));
            if let Err(e) = store::insert_in_place(&mut conn, &batch) {
                tracing::error!(error = %e, first = %first, "audit events lost");
            }
        }
    }
}

/// Writes until every sender is gone. A failed batch is retried once after a pause (a
/// database restart), then logged and dropped: the queue must keep moving.
async fn write(db: DatabaseConnection, mut rows: mpsc::Receiver<Row>) {
    let mut batch = Vec::with_capacity(BATCH);
    while rows.recv_many(&mut batch, BATCH).await > 0 {
        tokio::time::sleep(GATHER).await;
        while batch.len() < BATCH {
            match rows.try_recv() {
                Ok(row) => batch.push(row),
                Err(_) => break,
            }
        }
        let models: Vec<_> = batch.drain(..).map(|Row(model)| model).collect();
        if let Err(first) = store::insert(&db, models.clone()).await {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if let Err(e) = store::insert(&db, models).await {
                tracing::error!(error = %e, first = %first, "audit events lost");
            }
        }
    }
}

async fn purge(db: DatabaseConnection, clock: SharedClock, retention_days: u32) {
    let retention = Duration::from_secs(u64::from(retention_days.max(1)) * 24 * 60 * 60);
    let mut tick = tokio::time::interval(PURGE_EVERY);
    loop {
        tick.tick().await;
        let before = UnixTime::from_millis(clock.now().millis() - retention.as_millis() as i64);
        match store::purge_before(&db, before).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "old audit events purged"),
            Err(e) => tracing::warn!(error = %e, "purging audit events failed"),
        }
    }
}
