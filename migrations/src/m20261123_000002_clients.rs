//! OAuth clients. List-valued fields are JSON arrays in text columns (portable across backends).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Clients {
    Table,
    Id,
    Name,
    ClientType,
    /// SHA-256 of a generated secret (≥ 256 bits), hex; no password hash needed.
    SecretSha256,
    TokenEndpointAuthMethods,
    RedirectUris,
    PostLogoutRedirectUris,
    WebOrigins,
    GrantTypes,
    Scopes,
    RequireConsent,
    RequirePkce,
    AllowPlainPkce,
    AccessTokenTtlSecs,
    RefreshTokenIdleTtlSecs,
    RefreshTokenMaxTtlSecs,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Clients::Table)
                    .col(
                        ColumnDef::new(Clients::Id)
                            .string_len(200)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Clients::Name).string_len(200).not_null())
                    .col(
                        ColumnDef::new(Clients::ClientType)
                            .string_len(20)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Clients::SecretSha256).string_len(64).null())
                    .col(
                        ColumnDef::new(Clients::TokenEndpointAuthMethods)
                            .text()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Clients::RedirectUris).text().not_null())
                    .col(
                        ColumnDef::new(Clients::PostLogoutRedirectUris)
                            .text()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Clients::WebOrigins).text().not_null())
                    .col(ColumnDef::new(Clients::GrantTypes).text().not_null())
                    .col(ColumnDef::new(Clients::Scopes).text().not_null())
                    .col(
                        ColumnDef::new(Clients::RequireConsent)
                            .boolean()
                            .not_null()
                            .default(true),
                    )
                    .col(
                        ColumnDef::new(Clients::RequirePkce)
                            .boolean()
                            .not_null()
                            .default(true),
                    )
                    .col(
                        ColumnDef::new(Clients::AllowPlainPkce)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(
                        ColumnDef::new(Clients::AccessTokenTtlSecs)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(Clients::RefreshTokenIdleTtlSecs)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(Clients::RefreshTokenMaxTtlSecs)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(Clients::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Clients::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Clients::Table).to_owned())
            .await
    }
}
