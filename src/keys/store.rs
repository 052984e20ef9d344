//! Signing keys in the database.

use crate::database::DbContext;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

use crate::entities::signing_keys::{self, Entity as SigningKeys};
use crate::entities::user_factors;

/// Every key, oldest first: a handful per algorithm and year, each with what
/// `keys::timeline` needs to tell its state.
pub async fn all(db: &DatabaseConnection) -> anyhow::Result<Vec<signing_keys::Model>> {
    SigningKeys::find()
        .order_by_asc(signing_keys::Column::CreatedAt)
        .order_by_asc(signing_keys::Column::Kid)
        .all(db)
        .await
        .db_context("loading signing keys")
}

/// The longest access-token lifetime a client is registered with, if any overrides the
/// default: a key stays published until tokens this long-lived have expired.
pub async fn longest_client_access_ttl(db: &DatabaseConnection) -> anyhow::Result<Option<i64>> {
    use crate::entities::clients;
    use sea_orm::sea_query::Func;
    let longest: Option<Option<i64>> = clients::Entity::find()
        .select_only()
        .expr(Func::max(Expr::col(clients::Column::AccessTokenTtlSecs)))
        .into_tuple()
        .one(db)
        .await
        .db_context("reading the longest client token lifetime")?;
    Ok(longest.flatten())
}

/// Marks `kid` revoked at `at`; whether there was such a key not revoked already.
pub async fn revoke(db: &DatabaseConnection, kid: &str, at: DateTime<Utc>) -> anyhow::Result<bool> {
    let done = SigningKeys::update_many()
        .col_expr(signing_keys::Column::RevokedAt, Expr::value(at))
        .filter(signing_keys::Column::Kid.eq(kid))
        .filter(signing_keys::Column::RevokedAt.is_null())
        .exec(db)
        .await
        .db_context("revoking a signing key")?;
    Ok(done.rows_affected == 1)
}

pub async fn insert(db: &DatabaseConnection, key: signing_keys::Model) -> anyhow::Result<()> {
    let row = signing_keys::ActiveModel {
        kid: Set(key.kid),
        algorithm: Set(key.algorithm),
        private_key_jwe: Set(key.private_key_jwe),
        public_jwk: Set(key.public_jwk),
        created_at: Set(key.created_at),
        retired_at: Set(key.retired_at),
        activates_at: Set(key.activates_at),
        revoked_at: Set(key.revoked_at),
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
