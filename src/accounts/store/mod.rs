//! Users and roles in the database.

mod roles;

use anyhow::Context;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::{Email, User};
use crate::clock::UnixTime;
use crate::database::DbContext;
use crate::entities::users;

pub use roles::{
    RoleHolders, all_with_holders, grant_role, insert_role, link, role_id, roles_by_user, roles_of,
    unlink,
};

/// What a sign-in checks before it knows the password is right.
pub struct StoredPassword {
    pub user_id: String,
    pub password_hash: String,
    pub disabled: bool,
}

/// One indexed lookup by (normalised) email: the same query whether or not it exists.
pub async fn password_of(
    db: &DatabaseConnection,
    email: &str,
) -> anyhow::Result<Option<StoredPassword>> {
    let row = users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .column(users::Column::PasswordHash)
        .column(users::Column::Disabled)
        .filter(users::Column::Email.eq(email))
        .into_tuple::<(String, String, bool)>()
        .one(db)
        .await
        .db_context("looking up a user by email")?;
    Ok(
        row.map(|(user_id, password_hash, disabled)| StoredPassword {
            user_id,
            password_hash,
            disabled,
        }),
    )
}

/// Whether the user exists and is enabled: one indexed lookup, for the token path.
pub async fn is_active(db: &DatabaseConnection, id: &str) -> anyhow::Result<bool> {
    let row = users::Entity::find_by_id(id.to_owned())
        .select_only()
        .column(users::Column::Disabled)
        .into_tuple::<bool>()
        .one(db)
        .await
        .db_context("checking a user")?;
    Ok(row == Some(false))
}

pub async fn find_by_id(db: &DatabaseConnection, id: &str) -> anyhow::Result<Option<User>> {
    let row = users::Entity::find_by_id(id.to_owned())
        .one(db)
        .await
        .db_context("looking up a user")?;
    match row {
        Some(row) => Ok(Some(with_roles(db, row).await?)),
        None => Ok(None),
    }
}

async fn with_roles(db: &DatabaseConnection, row: users::Model) -> anyhow::Result<User> {
    let roles = roles_of(db, &row.id).await?;
    Ok(user(row, roles))
}

fn user(row: users::Model, roles: Vec<String>) -> User {
    User {
        id: row.id,
        email: row.email,
        name: row.name,
        email_verified: row.email_verified,
        disabled: row.disabled,
        roles,
        updated_at: row.updated_at,
    }
}

/// Every user with their roles, by email.
pub async fn all(db: &DatabaseConnection) -> anyhow::Result<Vec<User>> {
    let rows = users::Entity::find()
        .order_by_asc(users::Column::Email)
        .all(db)
        .await
        .db_context("listing users")?;
    let roles = roles_by_user(db, None).await?;
    Ok(users_holding(rows, roles))
}

/// The users of `rows`, each with its roles from `roles`.
fn users_holding(
    rows: Vec<users::Model>,
    mut roles: std::collections::HashMap<String, Vec<String>>,
) -> Vec<User> {
    rows.into_iter()
        .map(|row| {
            let held = roles.remove(&row.id).unwrap_or_default();
            user(row, held)
        })
        .collect()
}

/// Up to `limit` users by email after `after` (a cursor: the last email of the page before),
/// whose email contains `search` (lower-cased, as emails are stored), with their roles.
pub async fn page(
    db: &DatabaseConnection,
    search: Option<&str>,
    after: Option<&str>,
    limit: u64,
) -> anyhow::Result<Vec<User>> {
    let mut query = users::Entity::find().order_by_asc(users::Column::Email);
    if let Some(search) = search {
        query = query.filter(users::Column::Email.contains(search.to_lowercase()));
    }
    if let Some(after) = after {
        query = query.filter(users::Column::Email.gt(after));
    }
    let rows = query
        .limit(limit)
        .all(db)
        .await
        .db_context("listing users")?;
    // Only this page's role links: a page costs the same however many users there are.
    let ids = rows.iter().map(|row| row.id.clone()).collect();
    let roles = roles_by_user(db, Some(ids)).await?;
    Ok(users_holding(rows, roles))
}

pub struct NewUser<'a> {
    pub email: &'a Email,
    pub name: &'a str,
    pub password_hash: String,
    pub email_verified: bool,
}

/// Inserts the user unless the email exists; returns the id of whichever row is there.
pub async fn insert_if_absent(
    db: &DatabaseConnection,
    new: NewUser<'_>,
    now: UnixTime,
) -> anyhow::Result<String> {
    let now = now.to_datetime();
    let row = users::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        email: Set(new.email.as_str().to_owned()),
        name: Set(new.name.to_owned()),
        password_hash: Set(new.password_hash),
        email_verified: Set(new.email_verified),
        disabled: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
    };
    users::Entity::insert(row)
        .on_conflict(
            OnConflict::column(users::Column::Email)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .db_context("inserting a user")?;
    let existing = users::Entity::find()
        .filter(users::Column::Email.eq(new.email.as_str()))
        .one(db)
        .await
        .db_context("reading back an insert")?
        .context("user vanished after insert")?;
    Ok(existing.id)
}

pub async fn email_exists(db: &DatabaseConnection, email: &Email) -> anyhow::Result<bool> {
    Ok(users::Entity::find()
        .filter(users::Column::Email.eq(email.as_str()))
        .one(db)
        .await
        .db_context("looking up a user by email")?
        .is_some())
}

/// Inserts a new user in `conn` (a transaction, with what else the sign-up writes); `None`
/// when the email is taken, so two sign-ups racing for one address cannot both win.
pub async fn insert_new<C: ConnectionTrait>(
    conn: &C,
    new: NewUser<'_>,
    now: UnixTime,
) -> anyhow::Result<Option<String>> {
    let id = uuid::Uuid::new_v4().to_string();
    let now = now.to_datetime();
    let row = users::ActiveModel {
        id: Set(id.clone()),
        email: Set(new.email.as_str().to_owned()),
        name: Set(new.name.to_owned()),
        password_hash: Set(new.password_hash),
        email_verified: Set(new.email_verified),
        disabled: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let inserted = users::Entity::insert(row)
        .on_conflict(
            OnConflict::column(users::Column::Email)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await
        .db_context("inserting a user")?;
    Ok((inserted == 1).then_some(id))
}

/// The user with this (normalised) email, if any.
pub async fn find_by_email(db: &DatabaseConnection, email: &Email) -> anyhow::Result<Option<User>> {
    let row = users::Entity::find()
        .filter(users::Column::Email.eq(email.as_str()))
        .one(db)
        .await
        .db_context("looking up a user by email")?;
    match row {
        Some(row) => Ok(Some(with_roles(db, row).await?)),
        None => Ok(None),
    }
}

/// Marks the email verified, if it is still the user's address (a link proves only the
/// address it was sent to). Whether it was.
pub async fn mark_email_verified<C: ConnectionTrait>(
    conn: &C,
    user_id: &str,
    email: &str,
    now: UnixTime,
) -> anyhow::Result<bool> {
    let done = users::Entity::update_many()
        .col_expr(users::Column::EmailVerified, Expr::value(true))
        .col_expr(users::Column::UpdatedAt, Expr::value(now.to_datetime()))
        .filter(users::Column::Id.eq(user_id))
        .filter(users::Column::Email.eq(email))
        .exec(conn)
        .await
        .db_context("marking an email verified")?;
    Ok(done.rows_affected == 1)
}

/// Replaces the user's password hash, on `conn` — the transaction that also queues the
/// notice, so neither happens without the other. `false` when there is no such user.
pub async fn set_password<C: ConnectionTrait>(
    conn: &C,
    user_id: &str,
    password_hash: String,
    now: UnixTime,
) -> anyhow::Result<bool> {
    let updated = users::Entity::update_many()
        .col_expr(users::Column::PasswordHash, Expr::value(password_hash))
        .col_expr(users::Column::UpdatedAt, Expr::value(now.to_datetime()))
        .filter(users::Column::Id.eq(user_id))
        .exec(conn)
        .await
        .db_context("changing a password")?;
    Ok(updated.rows_affected == 1)
}

/// Renames the user. On PostgreSQL the update trigger (migration 7) tells every instance,
/// like any change of the row; nothing caches the name itself.
pub async fn set_name(
    db: &DatabaseConnection,
    user_id: &str,
    name: &str,
    now: UnixTime,
) -> anyhow::Result<bool> {
    let updated = users::Entity::update_many()
        .col_expr(users::Column::Name, Expr::value(name))
        .col_expr(users::Column::UpdatedAt, Expr::value(now.to_datetime()))
        .filter(users::Column::Id.eq(user_id))
        .exec(db)
        .await
        .db_context("renaming a user")?;
    Ok(updated.rows_affected == 1)
}

/// What a conditional profile update did.
#[derive(Debug, PartialEq, Eq)]
pub enum ProfileUpdate {
    Done,
    /// The user is gone, or their name, email or verification changed since `before`.
    Changed,
    /// Another user has the new email.
    EmailTaken,
}

/// Sets the user's name, email and whether it is verified, if those are still as in
/// `before`: the admin API's compare-and-set, so one operator cannot silently overwrite
/// another's (or the user's own) change made after they read it. The unique index on email
/// decides a race for an address.
pub async fn update_profile(
    db: &DatabaseConnection,
    before: &User,
    (name, email, email_verified): (&str, &Email, bool),
    now: UnixTime,
) -> anyhow::Result<ProfileUpdate> {
    use users::Column;
    let updated = users::Entity::update_many()
        .col_expr(Column::Name, Expr::value(name))
        .col_expr(Column::Email, Expr::value(email.as_str()))
        .col_expr(Column::EmailVerified, Expr::value(email_verified))
        .col_expr(Column::UpdatedAt, Expr::value(now.to_datetime()))
        .filter(Column::Id.eq(before.id.as_str()))
        .filter(Column::Name.eq(before.name.as_str()))
        .filter(Column::Email.eq(before.email.as_str()))
        .filter(Column::EmailVerified.eq(before.email_verified))
        .exec(db)
        .await;
    match updated {
        Ok(done) if done.rows_affected == 1 => Ok(ProfileUpdate::Done),
        Ok(_) => Ok(ProfileUpdate::Changed),
        Err(e)
            if matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) =>
        {
            Ok(ProfileUpdate::EmailTaken)
        }
        Err(e) => Err(anyhow::Error::new(e).context("updating a user's profile")),
    }
}

/// Disables or enables the user; `false` when there is no such user. On PostgreSQL the
/// update trigger (migration 7) has every instance forget that the user was active, so the
/// token path refuses a disabled user's refresh tokens at once.
pub async fn set_disabled(
    db: &DatabaseConnection,
    user_id: &str,
    disabled: bool,
    now: UnixTime,
) -> anyhow::Result<bool> {
    let updated = users::Entity::update_many()
        .col_expr(users::Column::Disabled, Expr::value(disabled))
        .col_expr(users::Column::UpdatedAt, Expr::value(now.to_datetime()))
        .filter(users::Column::Id.eq(user_id))
        .exec(db)
        .await
        .db_context(if disabled {
            "disabling a user"
        } else {
            "enabling a user"
        })?;
    Ok(updated.rows_affected == 1)
}

/// Deletes the user with everything kept under their id: second factors, recovery codes and
/// one-time links here, roles and consents by the schema's cascade. `false` when there was
/// no such user. (Audit events stay: they are the record of what the user did.)
pub async fn delete_user<C: ConnectionTrait>(conn: &C, id: &str) -> anyhow::Result<bool> {
    use crate::entities::{account_tokens, recovery_codes, user_factors};
    user_factors::Entity::delete_many()
        .filter(user_factors::Column::UserId.eq(id))
        .exec(conn)
        .await
        .db_context("deleting a user's second factors")?;
    recovery_codes::Entity::delete_many()
        .filter(recovery_codes::Column::UserId.eq(id))
        .exec(conn)
        .await
        .db_context("deleting a user's recovery codes")?;
    account_tokens::Entity::delete_many()
        .filter(account_tokens::Column::UserId.eq(id))
        .exec(conn)
        .await
        .db_context("deleting a user's one-time links")?;
    let gone = users::Entity::delete_by_id(id.to_owned())
        .exec(conn)
        .await
        .db_context("deleting a user")?;
    Ok(gone.rows_affected == 1)
}

/// Whether the user has a password (one made for an upstream sign-in has none at first).
pub async fn has_password(db: &DatabaseConnection, user_id: &str) -> anyhow::Result<bool> {
    let hash = users::Entity::find_by_id(user_id.to_owned())
        .select_only()
        .column(users::Column::PasswordHash)
        .into_tuple::<String>()
        .one(db)
        .await
        .db_context("reading whether a user has a password")?;
    Ok(hash.is_some_and(|h| h != crate::accounts::NO_PASSWORD))
}
