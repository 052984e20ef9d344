//! The SQL of the outbox worker: claiming a due message, and recording what became of it.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, FromQueryResult, Statement};

use crate::clock::UnixTime;
use crate::database::DbContext;
use crate::entities::mail_outbox;

/// The oldest due message that no live claim holds, claimed in one statement: its lease set
/// and its attempt counted before anything is sent. On PostgreSQL, `FOR UPDATE SKIP LOCKED`
/// lets concurrent workers each take a different row instead of queueing on (and then both
/// taking) the same one; a row another worker claimed meanwhile fails the re-check of the
/// inner conditions and is passed over. SQLite runs one writer at a time, so the same
/// statement without the locking clause is already atomic. Parameters are numbered in order
/// of appearance (SQLite numbers `$n` names as they first appear).
const CLAIM: &str = "UPDATE mail_outbox SET claimed_until = $1, attempts = attempts + 1 \
    WHERE id = (SELECT id FROM mail_outbox \
        WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $2 \
        AND (claimed_until IS NULL OR claimed_until <= $3) \
        ORDER BY id LIMIT 1{lock}) \
    RETURNING *";

/// Whether anything is due: a read, so that an idle poll never takes SQLite's write lock.
const DUE: &str = "SELECT id FROM mail_outbox \
    WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 \
    AND (claimed_until IS NULL OR claimed_until <= $2) LIMIT 1";

const PURGE_SENT: &str = "DELETE FROM mail_outbox WHERE sent_at < $1";

const SENT: &str =
    "UPDATE mail_outbox SET sent_at = $1, claimed_until = NULL, last_error = NULL WHERE id = $2";
const RETRY: &str = "UPDATE mail_outbox SET next_attempt_at = $1, last_error = $2, \
    claimed_until = NULL WHERE id = $3";
const FAILED: &str =
    "UPDATE mail_outbox SET failed_at = $1, last_error = $2, claimed_until = NULL WHERE id = $3";

/// What waits in the outbox: unsent messages still being tried, those given up, and when
/// the oldest still being tried was queued (through the worker's index on `sent_at`).
const DEPTH: &str = "SELECT COUNT(CASE WHEN failed_at IS NULL THEN 1 END), COUNT(failed_at), \
    MIN(CASE WHEN failed_at IS NULL THEN created_at END) FROM mail_outbox WHERE sent_at IS NULL";

/// The most of an error kept in `last_error`: enough to diagnose, never a whole reply.
const ERROR_CHARS: usize = 500;

/// Claims one due message for `lease`, or `None` when nothing is due.
pub async fn claim(
    db: &DatabaseConnection,
    now: UnixTime,
    lease: Duration,
) -> anyhow::Result<Option<mail_outbox::Model>> {
    let backend = db.get_database_backend();
    let probe =
        Statement::from_sql_and_values(backend, DUE, [now.millis().into(), now.millis().into()]);
    let due = db
        .query_one_raw(probe)
        .await
        .db_context("looking for due mail")?;
    if due.is_none() {
        return Ok(None);
    }
    let lock = match backend {
        DatabaseBackend::Postgres => " FOR UPDATE SKIP LOCKED",
        _ => "",
    };
    let sql = CLAIM.replace("{lock}", lock);
    let values = [now.plus(lease).millis(), now.millis(), now.millis()];
    let stmt = Statement::from_sql_and_values(backend, sql, values.map(Into::into));
    let row = db.query_one_raw(stmt).await.db_context("claiming a mail")?;
    row.map(|r| mail_outbox::Model::from_query_result(&r, ""))
        .transpose()
        .db_context("reading a claimed mail")
}

pub async fn mark_sent(db: &DatabaseConnection, id: i64, now: UnixTime) -> anyhow::Result<()> {
    execute(
        db,
        SENT,
        vec![now.millis().into(), id.into()],
        "marking a mail sent",
    )
    .await
}

/// Releases the claim; the message is due again at `next`.
pub async fn mark_retry(
    db: &DatabaseConnection,
    id: i64,
    next: UnixTime,
    error: &str,
) -> anyhow::Result<()> {
    let values = vec![next.millis().into(), truncated(error).into(), id.into()];
    execute(db, RETRY, values, "deferring a mail").await
}

/// Gives the message up: it stays in the table, never to be claimed again.
pub async fn mark_failed(
    db: &DatabaseConnection,
    id: i64,
    now: UnixTime,
    error: &str,
) -> anyhow::Result<()> {
    let values = vec![now.millis().into(), truncated(error).into(), id.into()];
    execute(db, FAILED, values, "giving a mail up").await
}

/// Messages waiting and given up, and the queueing time (Unix ms) of the oldest waiting.
pub async fn depth(db: &DatabaseConnection) -> anyhow::Result<(i64, i64, Option<i64>)> {
    let stmt = Statement::from_string(db.get_database_backend(), DEPTH);
    let row = db
        .query_one_raw(stmt)
        .await
        .db_context("counting the outbox")?;
    let Some(row) = row else {
        return Ok((0, 0, None));
    };
    let pending: i64 = row
        .try_get_by_index(0)
        .db_context("reading the outbox count")?;
    let given_up: i64 = row
        .try_get_by_index(1)
        .db_context("reading the outbox count")?;
    let oldest: Option<i64> = row
        .try_get_by_index(2)
        .db_context("reading the outbox age")?;
    Ok((pending, given_up, oldest))
}

/// Deletes messages sent before `before`; returns how many.
pub async fn purge_sent(db: &DatabaseConnection, before: UnixTime) -> anyhow::Result<u64> {
    let stmt = Statement::from_sql_and_values(
        db.get_database_backend(),
        PURGE_SENT,
        [before.millis().into()],
    );
    let result = db.execute_raw(stmt).await.db_context("purging sent mail")?;
    Ok(result.rows_affected())
}

async fn execute(
    db: &DatabaseConnection,
    sql: &str,
    values: Vec<sea_orm::Value>,
    doing: &'static str,
) -> anyhow::Result<()> {
    let stmt = Statement::from_sql_and_values(db.get_database_backend(), sql, values);
    db.execute_raw(stmt).await.db_context(doing)?;
    Ok(())
}

fn truncated(error: &str) -> String {
    error.chars().take(ERROR_CHARS).collect()
}
