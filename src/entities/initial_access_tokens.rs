use sea_orm::entity::prelude::*;

/// An initial access token (RFC 7591 §3.1), by its digest.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "initial_access_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_sha256: String,
    /// Unix seconds.
    pub expires_at: i64,
    /// Registrations left; `None` for any number until it expires.
    pub uses_left: Option<i32>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
