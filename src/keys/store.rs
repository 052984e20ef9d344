//! Signing keys in the database.

use crate::database::DbContext;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

use crate::entities::signing_keys::{self, Entity as SigningKeys};
use crate::entities::user_factors;

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

/// Every key's id and encrypted private key, locked until the transaction ends (PostgreSQL
/// `FOR UPDATE`; SQLite has one writer at a time anyway).
pub async fn all_private_for_update(
    txn: &DatabaseTransaction,
) -> anyhow::Result<Vec<(String, String)>> {
    SigningKeys::find()
        .select_only()
        .column(signing_keys::Column::Kid)
        .column(signing_keys::Column::PrivateKeyJwe)
        .order_by_asc(signing_keys::Column::Kid)
        .lock_exclusive()
        .into_tuple()
        .all(txn)
        .await
        .db_context("reading signing keys to rewrap")
}

/// Replaces a key's encrypted private key with `sealed` if it is still `was`; whether it was.
pub async fn replace_private(
    txn: &DatabaseTransaction,
    kid: &str,
    was: &str,
    sealed: String,
) -> anyhow::Result<bool> {
    let done = SigningKeys::update_many()
        .col_expr(signing_keys::Column::PrivateKeyJwe, Expr::value(sealed))
        .filter(signing_keys::Column::Kid.eq(kid))
        .filter(signing_keys::Column::PrivateKeyJwe.eq(was))
        .exec(txn)
        .await
        .db_context("storing a rewrapped signing key")?;
    Ok(done.rows_affected == 1)
}

/// Every stored TOTP secret, locked for the rewrap: (user id, kind, sealed secret).
pub async fn all_factor_secrets_for_update(
    txn: &DatabaseTransaction,
) -> anyhow::Result<Vec<(String, String, String)>> {
    user_factors::Entity::find()
        .select_only()
        .column(user_factors::Column::UserId)
        .column(user_factors::Column::Kind)
        .column(user_factors::Column::SecretJwe)
        .order_by_asc(user_factors::Column::UserId)
        .lock_exclusive()
        .into_tuple()
        .all(txn)
        .await
        .db_context("reading second-factor secrets to rewrap")
}

/// Replaces a factor's sealed secret with `sealed` if it is still `was`; whether it was.
pub async fn replace_factor_secret(
    txn: &DatabaseTransaction,
    (user_id, kind): (&str, &str),
    was: &str,
    sealed: String,
) -> anyhow::Result<bool> {
    let done = user_factors::Entity::update_many()
        .col_expr(user_factors::Column::SecretJwe, Expr::value(sealed))
        .filter(user_factors::Column::UserId.eq(user_id))
        .filter(user_factors::Column::Kind.eq(kind))
        .filter(user_factors::Column::SecretJwe.eq(was))
        .exec(txn)
        .await
        .db_context("storing a rewrapped second-factor secret")?;
    Ok(done.rows_affected == 1)
}
