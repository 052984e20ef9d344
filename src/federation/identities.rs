//! Which upstream account signs in which user (`federated_identities`), and the link policy
//! that decides for an upstream account not linked yet: link it to the account with the
//! same verified email, make an account for it, or refuse. An unverified email never links
//! (the "nOAuth" mistake: anyone may put any address on an upstream account).

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder,
};

use super::FederationError;
use super::profile::Identity;
use crate::accounts::store::{self as users, NewUser};
use crate::accounts::{Email, NO_PASSWORD};
use crate::clock::UnixTime;
use crate::database::DbContext;
use crate::entities::federated_identities as rows;
use crate::settings::LinkPolicy;

pub use rows::Model as Linked;

/// How an upstream sign-in found its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// Linked before.
    Linked(String),
    /// Linked now, to the account with the same verified email.
    ByEmail(String),
    /// An account made now for this upstream account.
    Created(String),
}

impl Found {
    pub fn user_id(&self) -> &str {
        match self {
            Self::Linked(id) | Self::ByEmail(id) | Self::Created(id) => id,
        }
    }
}

pub async fn find(
    db: &DatabaseConnection,
    provider: &str,
    subject: &str,
) -> anyhow::Result<Option<Linked>> {
    rows::Entity::find_by_id((provider.to_owned(), subject.to_owned()))
        .one(db)
        .await
        .db_context("looking up an upstream identity")
}

/// The user's linked upstream accounts, oldest first.
pub async fn of_user(db: &DatabaseConnection, user_id: &str) -> anyhow::Result<Vec<Linked>> {
    rows::Entity::find()
        .filter(rows::Column::UserId.eq(user_id))
        .order_by_asc(rows::Column::LinkedAt)
        .all(db)
        .await
        .db_context("listing a user's upstream identities")
}

/// Links `identity` at `provider` to `user_id`; `false` when that upstream account is
/// linked already (to anyone).
pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    provider: &str,
    identity: &Identity,
    user_id: &str,
    now: UnixTime,
) -> anyhow::Result<bool> {
    let row = rows::ActiveModel {
        provider: Set(provider.to_owned()),
        subject: Set(identity.subject.clone()),
        user_id: Set(user_id.to_owned()),
        email: Set(identity.email.clone()),
        linked_at: Set(now.millis()),
    };
    let inserted = rows::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([rows::Column::Provider, rows::Column::Subject])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await
        .db_context("linking an upstream identity")?;
    Ok(inserted == 1)
}

/// Unlinks the user's account at `provider`; `false` when there was none.
pub async fn delete(
    db: &DatabaseConnection,
    user_id: &str,
    provider: &str,
) -> anyhow::Result<bool> {
    let deleted = rows::Entity::delete_many()
        .filter(rows::Column::UserId.eq(user_id))
        .filter(rows::Column::Provider.eq(provider))
        .exec(db)
        .await
        .db_context("unlinking an upstream identity")?;
    Ok(deleted.rows_affected > 0)
}

/// The user an upstream sign-in is for, under `policy`; links or creates as it allows.
/// Nothing is written unless the sign-in goes on.
pub async fn resolve(
    db: &DatabaseConnection,
    provider: &str,
    policy: LinkPolicy,
    identity: &Identity,
    now: UnixTime,
) -> Result<Found, FederationError> {
    if let Some(linked) = find(db, provider, &identity.subject).await? {
        return Ok(Found::Linked(linked.user_id));
    }
    if policy == LinkPolicy::ExistingOnly {
        return Err(FederationError::NoAccount);
    }
    let email = identity.email.as_deref().and_then(Email::parse);
    let existing = match &email {
        Some(email) => users::find_by_email(db, email).await?,
        None => None,
    };
    match (existing, identity.email_verified) {
        (Some(user), true) if user.disabled => Err(FederationError::Disabled),
        (Some(user), true) => {
            if !insert(db, provider, identity, &user.id, now).await? {
                return Err(FederationError::LinkedElsewhere);
            }
            Ok(Found::ByEmail(user.id))
        }
        (Some(_), false) if policy == LinkPolicy::Create => Err(FederationError::EmailTaken),
        _ if policy != LinkPolicy::Create => Err(FederationError::NoAccount),
        (_, _) => {
            let email = email.ok_or(FederationError::NoEmail)?;
            create(db, provider, identity, &email, now).await
        }
    }
}

/// A new account (without a password) for the upstream account, linked to it, in one
/// transaction.
async fn create(
    db: &DatabaseConnection,
    provider: &str,
    identity: &Identity,
    email: &Email,
    now: UnixTime,
) -> Result<Found, FederationError> {
    let name = identity.name.clone().unwrap_or_default();
    let new = NewUser {
        email,
        name: &name,
        password_hash: NO_PASSWORD.to_owned(),
        email_verified: identity.email_verified,
    };
    let txn = crate::database::begin_write(db)
        .await
        .db_context("starting an upstream account")?;
    let Some(user_id) = users::insert_new(&txn, new, now).await? else {
        // Someone took the address meanwhile.
        return Err(FederationError::EmailTaken);
    };
    if !insert(&txn, provider, identity, &user_id, now).await? {
        return Err(FederationError::LinkedElsewhere);
    }
    txn.commit()
        .await
        .db_context("committing an upstream account")?;
    Ok(Found::Created(user_id))
}
