//! Remembered consent: a user's grant of scopes to a client, so the page is asked once.

use crate::database::DbContext;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};

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
