//! Second factors in the database: the TOTP row per user, and recovery code sets.

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
};

use crate::clock::UnixTime;
use crate::database::DbContext;
use crate::entities::{recovery_codes, user_factors};

pub const TOTP: &str = "totp";
/// Email codes at sign-in: a row without a secret, present while the user has them on.
pub const EMAIL: &str = "email";

/// Every factor row of the user (TOTP, confirmed or not; email codes).
pub async fn factors_of(
    db: &DatabaseConnection,
    user_id: &str,
) -> anyhow::Result<Vec<user_factors::Model>> {
    user_factors::Entity::find()
        .filter(user_factors::Column::UserId.eq(user_id))
        .all(db)
        .await
        .db_context("loading second factors")
}

/// Turns email codes on (a row, kept if there) or off (no row); `true` when it changed.
pub async fn set_email_codes(
    db: &DatabaseConnection,
    user_id: &str,
    on: bool,
    now: UnixTime,
) -> anyhow::Result<bool> {
    if !on {
        let gone = user_factors::Entity::delete_by_id((user_id.to_owned(), EMAIL.to_owned()))
            .exec(db)
            .await
            .db_context("turning email codes off")?;
        return Ok(gone.rows_affected == 1);
    }
    let row = user_factors::ActiveModel {
        user_id: Set(user_id.to_owned()),
        kind: Set(EMAIL.to_owned()),
        secret_jwe: Set(String::new()),
        created_at: Set(now.millis()),
        confirmed_at: Set(Some(now.millis())),
    };
    let keep = OnConflict::columns([user_factors::Column::UserId, user_factors::Column::Kind])
        .do_nothing()
        .to_owned();
    let written = user_factors::Entity::insert(row)
        .on_conflict(keep)
        .exec_without_returning(db)
        .await
        .db_context("turning email codes on")?;
    Ok(written == 1)
}

/// The user's TOTP row (sealed secret, confirmed or not), if any.
pub async fn totp_of(
    db: &DatabaseConnection,
    user_id: &str,
) -> anyhow::Result<Option<user_factors::Model>> {
    user_factors::Entity::find_by_id((user_id.to_owned(), TOTP.to_owned()))
        .one(db)
        .await
        .db_context("loading a second factor")
}

/// Stores a new, unconfirmed TOTP secret, replacing an unconfirmed one (an enrolment begun
/// again) but never a confirmed one: `false` then.
pub async fn begin_totp(
    db: &DatabaseConnection,
    user_id: &str,
    secret_jwe: String,
    now: UnixTime,
) -> anyhow::Result<bool> {
    let row = user_factors::ActiveModel {
        user_id: Set(user_id.to_owned()),
        kind: Set(TOTP.to_owned()),
        secret_jwe: Set(secret_jwe),
        created_at: Set(now.millis()),
        confirmed_at: Set(None),
    };
    let upsert = OnConflict::columns([user_factors::Column::UserId, user_factors::Column::Kind])
        .update_columns([
            user_factors::Column::SecretJwe,
            user_factors::Column::CreatedAt,
        ])
        .action_and_where(user_factors::Column::ConfirmedAt.is_null())
        .to_owned();
    let written = user_factors::Entity::insert(row)
        .on_conflict(upsert)
        .exec_without_returning(db)
        .await
        .db_context("storing a TOTP secret")?;
    Ok(written == 1)
}

/// Marks the TOTP enrolment confirmed, in `conn` (with the first recovery codes).
pub async fn confirm_totp<C: ConnectionTrait>(
    conn: &C,
    user_id: &str,
    now: UnixTime,
) -> anyhow::Result<bool> {
    let done = user_factors::Entity::update_many()
        .col_expr(user_factors::Column::ConfirmedAt, Expr::value(now.millis()))
        .filter(user_factors::Column::UserId.eq(user_id))
        .filter(user_factors::Column::Kind.eq(TOTP))
        .filter(user_factors::Column::ConfirmedAt.is_null())
        .exec(conn)
        .await
        .db_context("confirming a TOTP enrolment")?;
    Ok(done.rows_affected == 1)
}

/// Removes the user's TOTP factor and recovery codes, in `conn` (email codes stay as
/// they are: the user turns them off on their own).
pub async fn remove_totp<C: ConnectionTrait>(conn: &C, user_id: &str) -> anyhow::Result<()> {
    user_factors::Entity::delete_many()
        .filter(user_factors::Column::UserId.eq(user_id))
        .filter(user_factors::Column::Kind.eq(TOTP))
        .exec(conn)
        .await
        .db_context("removing second factors")?;
    recovery_codes::Entity::delete_many()
        .filter(recovery_codes::Column::UserId.eq(user_id))
        .exec(conn)
        .await
        .db_context("removing recovery codes")?;
    Ok(())
}

/// Removes every second factor of the user (TOTP, email codes) and their recovery codes, in
/// `conn`: an operator's reset for someone who lost their device.
pub async fn remove_all<C: ConnectionTrait>(conn: &C, user_id: &str) -> anyhow::Result<u64> {
    let factors = user_factors::Entity::delete_many()
        .filter(user_factors::Column::UserId.eq(user_id))
        .exec(conn)
        .await
        .db_context("removing second factors")?;
    recovery_codes::Entity::delete_many()
        .filter(recovery_codes::Column::UserId.eq(user_id))
        .exec(conn)
        .await
        .db_context("removing recovery codes")?;
    Ok(factors.rows_affected)
}

/// Replaces the user's recovery codes with these hashes, in `conn`: the old set is gone.
pub async fn replace_codes<C: ConnectionTrait>(
    conn: &C,
    user_id: &str,
    hashes: Vec<String>,
    now: UnixTime,
) -> anyhow::Result<()> {
    recovery_codes::Entity::delete_many()
        .filter(recovery_codes::Column::UserId.eq(user_id))
        .exec(conn)
        .await
        .db_context("removing recovery codes")?;
    let rows = hashes.into_iter().map(|hash| recovery_codes::ActiveModel {
        user_id: Set(user_id.to_owned()),
        code_hash: Set(hash),
        created_at: Set(now.millis()),
        used_at: Set(None),
        ..Default::default()
    });
    recovery_codes::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await
        .db_context("storing recovery codes")?;
    Ok(())
}

/// The user's unused recovery codes: (id, hash).
pub async fn unused_codes(
    db: &DatabaseConnection,
    user_id: &str,
) -> anyhow::Result<Vec<(i64, String)>> {
    let rows = recovery_codes::Entity::find()
        .filter(recovery_codes::Column::UserId.eq(user_id))
        .filter(recovery_codes::Column::UsedAt.is_null())
        .all(db)
        .await
        .db_context("loading recovery codes")?;
    Ok(rows.into_iter().map(|r| (r.id, r.code_hash)).collect())
}

/// Uses a recovery code: `true` for the one caller that marked it.
pub async fn use_code(db: &DatabaseConnection, id: i64, now: UnixTime) -> anyhow::Result<bool> {
    let done = recovery_codes::Entity::update_many()
        .col_expr(recovery_codes::Column::UsedAt, Expr::value(now.millis()))
        .filter(recovery_codes::Column::Id.eq(id))
        .filter(recovery_codes::Column::UsedAt.is_null())
        .exec(db)
        .await
        .db_context("using a recovery code")?;
    Ok(done.rows_affected == 1)
}
