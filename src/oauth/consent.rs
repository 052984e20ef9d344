//! Remembered consent: a user's grant of scopes to a client, so the page is asked once.

use crate::database::DbContext;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
};

use crate::clock::UnixTime;
use crate::entities::consents;
use crate::oauth::Scopes;

/// Whether `scope` is covered by what the user already granted to the client.
pub async fn covers(
    db: &DatabaseConnection,
    user_id: &str,
    client_id: &str,
    scope: &Scopes,
) -> anyhow::Result<bool> {
    let row = consents::Entity::find_by_id((user_id.to_owned(), client_id.to_owned()))
        .one(db)
        .await
        .db_context("loading consent")?;
    Ok(match row {
        Some(row) => scope.is_subset(&Scopes::parse(&row.scopes).unwrap_or_default()),
        None => false,
    })
}

/// Records consent, widening what was granted before.
pub async fn remember(
    db: &DatabaseConnection,
    user_id: &str,
    client_id: &str,
    scope: &Scopes,
    now: UnixTime,
) -> anyhow::Result<()> {
    let previous = consents::Entity::find_by_id((user_id.to_owned(), client_id.to_owned()))
        .one(db)
        .await
        .db_context("loading consent")?
        .and_then(|row| Scopes::parse(&row.scopes).ok())
        .unwrap_or_default();
    let row = consents::ActiveModel {
        user_id: Set(user_id.to_owned()),
        client_id: Set(client_id.to_owned()),
        scopes: Set(previous.union(scope).to_string()),
        granted_at: Set(now.to_datetime()),
    };
    consents::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([consents::Column::UserId, consents::Column::ClientId])
                .update_columns([consents::Column::Scopes, consents::Column::GrantedAt])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .db_context("storing consent")?;
    Ok(())
}

/// What the user has allowed, newest first: (client id, scopes, when).
pub async fn list_for_user(
    db: &DatabaseConnection,
    user_id: &str,
) -> anyhow::Result<Vec<consents::Model>> {
    consents::Entity::find()
        .filter(consents::Column::UserId.eq(user_id))
        .order_by_desc(consents::Column::GrantedAt)
        .all(db)
        .await
        .db_context("listing consents")
}

/// Forgets the user's consent to the client, so the next request asks again; `false` when
/// there was none.
pub async fn forget(
    db: &DatabaseConnection,
    user_id: &str,
    client_id: &str,
) -> anyhow::Result<bool> {
    let deleted = consents::Entity::delete_by_id((user_id.to_owned(), client_id.to_owned()))
        .exec(db)
        .await
        .db_context("forgetting consent")?;
    Ok(deleted.rows_affected == 1)
}
