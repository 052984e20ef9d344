//! Sets in the built-in store (session indexes), and per-client keys and logout URIs.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum EphemeralSets {
    Table,
    Key,
    Member,
    /// Unix milliseconds; the whole set expires together.
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    /// Inline JWKS (RFC 7517) for `private_key_jwt`.
    Jwks,
    /// OpenID Connect Back-Channel Logout 1.0 §2.2.
    BackchannelLogoutUri,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EphemeralSets::Table)
                    .col(
                        ColumnDef::new(EphemeralSets::Key)
                            .string_len(512)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(EphemeralSets::Member)
                            .string_len(512)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(EphemeralSets::ExpiresAt)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(EphemeralSets::Key)
                            .col(EphemeralSets::Member),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Clients::Table)
                    .add_column(ColumnDef::new(Clients::Jwks).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Clients::Table)
                    .add_column(ColumnDef::new(Clients::BackchannelLogoutUri).text().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EphemeralSets::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Clients::Table)
                    .drop_column(Clients::Jwks)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Clients::Table)
                    .drop_column(Clients::BackchannelLogoutUri)
                    .to_owned(),
            )
            .await
    }
}
