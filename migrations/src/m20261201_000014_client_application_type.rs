//! OIDC Registration's `application_type` (RFC 8252 §8.4 relies on it): `web` clients keep
//! exact redirect matching; `native` ones may use a loopback IP redirect on any port and
//! private-use URI schemes, and always use PKCE.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Clients {
    Table,
    ApplicationType,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Clients::Table)
                    .add_column(
                        ColumnDef::new(Clients::ApplicationType)
                            .string()
                            .not_null()
                            .default("web"),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Clients::Table)
                    .drop_column(Clients::ApplicationType)
                    .to_owned(),
            )
            .await
    }
}
