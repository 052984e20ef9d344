//! Per-client policies: who may introspect any token (RFC 7662 §4), the refresh retry grace
//! of a client (none for public clients until tokens are sender-constrained), and the
//! resources it may ask tokens for (RFC 8707).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Clients {
    Table,
    /// A resource server the operator lets introspect tokens of every client.
    IntrospectAny,
    /// Overrides `tokens.refresh_retry_grace_secs` for a confidential client.
    RefreshRetryGraceSecs,
    /// JSON array of absolute URIs.
    AllowedResources,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Clients::Table)
                    .add_column(
                        ColumnDef::new(Clients::IntrospectAny)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Clients::Table)
                    .add_column(
                        ColumnDef::new(Clients::RefreshRetryGraceSecs)
                            .big_integer()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Clients::Table)
                    .add_column(
                        ColumnDef::new(Clients::AllowedResources)
                            .text()
                            .not_null()
                            .default("[]"),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            Clients::IntrospectAny,
            Clients::RefreshRetryGraceSecs,
            Clients::AllowedResources,
        ];
        for column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(Clients::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
