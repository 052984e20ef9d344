//! Dynamic client registration (RFC 7591 / 7592): the digest of a self-registered client's
//! registration access token (which also marks the client as self-registered), and the
//! initial access tokens (RFC 7591 §3.1) operators hand out when registration needs one.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Clients {
    Table,
    RegistrationTokenSha256,
}

#[derive(DeriveIden)]
enum InitialAccessTokens {
    Table,
    /// SHA-256 of the token, hex: the token itself is shown once and never stored.
    TokenSha256,
    /// Unix seconds.
    ExpiresAt,
    /// Registrations left; NULL for as many as the lifetime allows.
    UsesLeft,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Clients::Table)
                    .add_column(
                        ColumnDef::new(Clients::RegistrationTokenSha256)
                            .string()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(InitialAccessTokens::Table)
                    .col(
                        ColumnDef::new(InitialAccessTokens::TokenSha256)
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(InitialAccessTokens::ExpiresAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(InitialAccessTokens::UsesLeft)
                            .integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(InitialAccessTokens::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(InitialAccessTokens::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Clients::Table)
                    .drop_column(Clients::RegistrationTokenSha256)
                    .to_owned(),
            )
            .await
    }
}
