use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signing_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub kid: String,
    pub algorithm: String,
    pub private_key_jwe: String,
    pub public_jwk: String,
    pub created_at: DateTimeUtc,
    /// Set by an operator to stop a key's signing early (legacy: when a newer key took over).
    pub retired_at: Option<DateTimeUtc>,
    /// When it starts signing; until then it is only published. NULL: at its creation.
    pub activates_at: Option<DateTimeUtc>,
    /// Revoked: out of the JWKS at once, its tokens refused.
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
