//! Signing keys in the database.

use crate::database::DbContext;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder,
};

use crate::entities::signing_keys::{self, Entity as SigningKeys};

/// Keys that sign or still verify: never retired, or retired after `retired_after`.
pub async fn published(
    db: &DatabaseConnection,
    retired_after: DateTime<Utc>,
) -> anyhow::Result<Vec<signing_keys::Model>> {
    SigningKeys::find()
        .filter(
            Condition::any()
                .add(signing_keys::Column::RetiredAt.is_null())
                .add(signing_keys::Column::RetiredAt.gt(retired_after)),
        )
        .order_by_desc(signing_keys::Column::CreatedAt)
        .order_by_asc(signing_keys::Column::Kid)
        .all(db)
        .await
        .db_context("loading signing keys")
}

pub async fn insert(db: &DatabaseConnection, key: signing_keys::Model) -> anyhow::Result<()> {
    let row = signing_keys::ActiveModel {
        kid: Set(key.kid),
        algorithm: Set(key.algorithm),
        private_key_jwe: Set(key.private_key_jwe),
        public_jwk: Set(key.public_jwk),
        created_at: Set(key.created_at),
        retired_at: Set(key.retired_at),
    };
    SigningKeys::insert(row)
        .exec(db)
        .await
        .db_context("storing a signing key")?;
    Ok(())
}
