//! The SQL of the audit log.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement,
};

use super::Kind;
use crate::clock::UnixTime;
use crate::database::DbContext;
use crate::entities::audit_events::{self, Entity as AuditEvents};

/// A recorded event as pages and the admin API show it.
pub type Recorded = audit_events::Model;

/// Which events a search keeps; each `None` keeps them all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub kind: Option<Kind>,
    /// Events at or after this time.
    pub since: Option<UnixTime>,
    /// Events before this time: with `since`, a half-open window, so consecutive windows
    /// never count an event twice.
    pub until: Option<UnixTime>,
    /// Events older than this one (a cursor): ids grow with every row written.
    pub before_id: Option<i64>,
}

/// PostgreSQL takes a batch as one JSON parameter: the statement's text never changes, so it
/// is prepared once, and the server does the unpacking. Building a multi-row `VALUES` with a
/// parameter per field cost the token path several percent at thousands of events a second.
const INSERT_JSON: &str = "INSERT INTO audit_events \
    (at, kind, user_id, client_id, ip, user_agent, request_id, detail) \
    SELECT at, kind, user_id, client_id, ip, user_agent, request_id, detail \
    FROM json_populate_recordset(NULL::audit_events, $1::json)";

const INSERT_ONE: &str = "INSERT INTO audit_events \
    (at, kind, user_id, client_id, ip, user_agent, request_id, detail) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

pub async fn insert(db: &DatabaseConnection, rows: Vec<audit_events::Model>) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    if db.get_database_backend() == DatabaseBackend::Postgres {
        let batch = serde_json::to_string(&rows)?;
        let stmt =
            Statement::from_sql_and_values(DatabaseBackend::Postgres, INSERT_JSON, [batch.into()]);
        db.execute_raw(stmt)
            .await
            .db_context("inserting audit events")?;
        return Ok(());
    }
    let models = rows.into_iter().map(|row| audit_events::ActiveModel {
        id: sea_orm::ActiveValue::NotSet,
        ..row.into()
    });
    AuditEvents::insert_many(models)
        .exec(db)
        .await
        .db_context("inserting audit events")?;
    Ok(())
}

/// A batch in one transaction on the SQLite file's own connection, with one prepared
/// statement: no SQL to build and no worker-thread hop per batch.
pub fn insert_in_place(
    conn: &mut rusqlite::Connection,
    rows: &[audit_events::Model],
) -> rusqlite::Result<()> {
    let txn = conn.transaction()?;
    {
        let mut insert = txn.prepare_cached(INSERT_ONE)?;
        for r in rows {
            insert.execute(rusqlite::params![
                r.at,
                r.kind,
                r.user_id,
                r.client_id,
                r.ip,
                r.user_agent,
                r.request_id,
                r.detail
            ])?;
        }
    }
    txn.commit()
}

pub async fn purge_before(db: &DatabaseConnection, before: UnixTime) -> anyhow::Result<u64> {
    let deleted = AuditEvents::delete_many()
        .filter(audit_events::Column::At.lt(before.millis()))
        .exec(db)
        .await
        .db_context("purging audit events")?;
    Ok(deleted.rows_affected)
}

/// The user's newest events of these kinds, newest first.
pub async fn recent_for_user(
    db: &DatabaseConnection,
    user_id: &str,
    kinds: &[Kind],
    limit: u64,
) -> anyhow::Result<Vec<Recorded>> {
    AuditEvents::find()
        .filter(audit_events::Column::UserId.eq(user_id))
        .filter(audit_events::Column::Kind.is_in(kinds.iter().map(|k| k.as_str())))
        .order_by_desc(audit_events::Column::At)
        .limit(limit)
        .all(db)
        .await
        .db_context("reading audit events")
}

/// Up to `limit` events the filter keeps, newest first by id: the order they were written,
/// which a cursor on the id can resume without skipping or repeating a row, even when
/// events share a millisecond.
pub async fn search(
    db: &DatabaseConnection,
    filter: &Filter,
    limit: u64,
) -> anyhow::Result<Vec<Recorded>> {
    use audit_events::Column;
    let mut query = AuditEvents::find();
    if let Some(user_id) = &filter.user_id {
        query = query.filter(Column::UserId.eq(user_id.as_str()));
    }
    if let Some(client_id) = &filter.client_id {
        query = query.filter(Column::ClientId.eq(client_id.as_str()));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(Column::Kind.eq(kind.as_str()));
    }
    if let Some(since) = filter.since {
        query = query.filter(Column::At.gte(since.millis()));
    }
    if let Some(until) = filter.until {
        query = query.filter(Column::At.lt(until.millis()));
    }
    if let Some(before) = filter.before_id {
        query = query.filter(Column::Id.lt(before));
    }
    query
        .order_by_desc(Column::Id)
        .limit(limit)
        .all(db)
        .await
        .db_context("searching audit events")
}
