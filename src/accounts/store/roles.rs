//! Roles and who holds them, in the database. A role is a name; holding one puts it in the
//! `roles` claim of the holder's next token.

use std::collections::HashMap;

use anyhow::Context;
use sea_orm::sea_query::{Expr, Func, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use crate::database::DbContext;
use crate::entities::{roles, user_roles};

/// A role and how many users hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleHolders {
    pub name: String,
    pub users: u64,
}

/// The names of the user's roles, sorted: read when a token with the `roles` scope is
/// minted, so a role taken away is gone from the next token.
pub async fn roles_of(db: &DatabaseConnection, user_id: &str) -> anyhow::Result<Vec<String>> {
    let links = user_roles::Entity::find()
        .filter(user_roles::Column::UserId.eq(user_id))
        .all(db)
        .await
        .db_context("loading user roles")?;
    let role_ids: Vec<String> = links.into_iter().map(|l| l.role_id).collect();
    let mut roles: Vec<String> = roles::Entity::find()
        .filter(roles::Column::Id.is_in(role_ids))
        .all(db)
        .await
        .db_context("loading roles")?
        .into_iter()
        .map(|r| r.name)
        .collect();
    roles.sort();
    Ok(roles)
}

/// The role names of `user_ids` (every user when `None`), sorted, by user id: two queries
/// for a whole listing or a page of it.
pub async fn roles_by_user(
    db: &DatabaseConnection,
    user_ids: Option<Vec<String>>,
) -> anyhow::Result<HashMap<String, Vec<String>>> {
    let names: HashMap<String, String> = roles::Entity::find()
        .all(db)
        .await
        .db_context("loading roles")?
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect();
    let mut links = user_roles::Entity::find();
    if let Some(ids) = user_ids {
        links = links.filter(user_roles::Column::UserId.is_in(ids));
    }
    let links = links.all(db).await.db_context("loading user roles")?;
    let mut by_user: HashMap<String, Vec<String>> = HashMap::new();
    for link in links {
        if let Some(name) = names.get(&link.role_id) {
            by_user.entry(link.user_id).or_default().push(name.clone());
        }
    }
    by_user.values_mut().for_each(|roles| roles.sort());
    Ok(by_user)
}

/// Every role, by name, with how many users hold it.
pub async fn all_with_holders(db: &DatabaseConnection) -> anyhow::Result<Vec<RoleHolders>> {
    let counts: HashMap<String, i64> = user_roles::Entity::find()
        .select_only()
        .column(user_roles::Column::RoleId)
        .column_as(
            Expr::from(Func::count(Expr::col(user_roles::Column::UserId))),
            "users",
        )
        .group_by(user_roles::Column::RoleId)
        .into_tuple::<(String, i64)>()
        .all(db)
        .await
        .db_context("counting role holders")?
        .into_iter()
        .collect();
    let roles = roles::Entity::find()
        .order_by_asc(roles::Column::Name)
        .all(db)
        .await
        .db_context("loading roles")?;
    Ok(roles
        .into_iter()
        .map(|r| RoleHolders {
            users: counts
                .get(&r.id)
                .map_or(0, |n| u64::try_from(*n).unwrap_or(0)),
            name: r.name,
        })
        .collect())
}

/// The id of the role with this name, if there is one.
pub async fn role_id<C: ConnectionTrait>(conn: &C, name: &str) -> anyhow::Result<Option<String>> {
    Ok(roles::Entity::find()
        .filter(roles::Column::Name.eq(name))
        .one(conn)
        .await
        .db_context("looking up a role")?
        .map(|r| r.id))
}

/// Adds a role unless one of that name exists; whether it was added.
pub async fn insert_role(db: &DatabaseConnection, name: &str) -> anyhow::Result<bool> {
    let row = roles::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        name: Set(name.to_owned()),
        description: Set(String::new()),
    };
    let inserted = roles::Entity::insert(row)
        .on_conflict(
            OnConflict::column(roles::Column::Name)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .db_context("inserting a role")?;
    Ok(inserted == 1)
}

/// Links the user to the role, on `conn` (a transaction when the user is new); whether the
/// user did not hold it before.
pub async fn link<C: ConnectionTrait>(
    conn: &C,
    user_id: &str,
    role_id: &str,
) -> anyhow::Result<bool> {
    let link = user_roles::ActiveModel {
        user_id: Set(user_id.to_owned()),
        role_id: Set(role_id.to_owned()),
    };
    let inserted = user_roles::Entity::insert(link)
        .on_conflict(
            OnConflict::columns([user_roles::Column::UserId, user_roles::Column::RoleId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await
        .db_context("linking a role")?;
    Ok(inserted == 1)
}

/// Takes the role from the user; whether the user held it.
pub async fn unlink(db: &DatabaseConnection, user_id: &str, role_id: &str) -> anyhow::Result<bool> {
    let deleted = user_roles::Entity::delete_many()
        .filter(user_roles::Column::UserId.eq(user_id))
        .filter(user_roles::Column::RoleId.eq(role_id))
        .exec(db)
        .await
        .db_context("unlinking a role")?;
    Ok(deleted.rows_affected == 1)
}

/// Creates the role if needed and links the user to it (the demo's seeding).
pub async fn grant_role(db: &DatabaseConnection, user_id: &str, role: &str) -> anyhow::Result<()> {
    insert_role(db, role).await?;
    let role_id = role_id(db, role)
        .await?
        .context("role vanished after insert")?;
    link(db, user_id, &role_id).await?;
    Ok(())
}
