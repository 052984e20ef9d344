//! The built-in ephemeral store: what Redis holds in production, as rows with an expiry.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum EphemeralEntries {
    Table,
    Key,
    Value,
    Counter,
    /// Unix time in milliseconds; rows past it are treated as absent and purged.
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EphemeralEntries::Table)
                    .col(
                        ColumnDef::new(EphemeralEntries::Key)
                            .string_len(512)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(EphemeralEntries::Value).binary().not_null())
                    .col(
                        ColumnDef::new(EphemeralEntries::Counter)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(EphemeralEntries::ExpiresAt)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_ephemeral_entries_expires_at")
                    .table(EphemeralEntries::Table)
                    .col(EphemeralEntries::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EphemeralEntries::Table).to_owned())
            .await
    }
}
