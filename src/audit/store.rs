//! The SQL of the audit log.

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::clock::UnixTime;
use crate::database::DbContext;
use crate::entities::audit_events::{self, Entity as AuditEvents};

/// A recorded event as pages and the admin API show it.
pub type Recorded = audit_events::Model;

pub async fn insert(db: &DatabaseConnection, rows: Vec<audit_events::Model>) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let models = rows.into_iter().map(audit_events::ActiveModel::from);
    AuditEvents::insert_many(models)
        .exec(db)
        .await
        .db_context("inserting audit events")?;
    Ok(())
}

pub async fn purge_before(db: &DatabaseConnection, before: UnixTime) -> anyhow::Result<u64> {
    let deleted = AuditEvents::delete_many()
        .filter(audit_events::Column::At.lt(before.millis()))
        .exec(db)
        .await
        .db_context("purging audit events")?;
    Ok(deleted.rows_affected)
}

/// The user's newest events, newest first.
pub async fn recent_for_user(
    db: &DatabaseConnection,
    user_id: &str,
    limit: u64,
) -> anyhow::Result<Vec<Recorded>> {
    AuditEvents::find()
        .filter(audit_events::Column::UserId.eq(user_id))
        .order_by_desc(audit_events::Column::At)
        .limit(limit)
        .all(db)
        .await
        .db_context("reading audit events")
}
