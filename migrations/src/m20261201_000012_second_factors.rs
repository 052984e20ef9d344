//! Second factors: a user's TOTP secret (encrypted under the master key, like the signing
//! keys; confirmed once a first code matched) and their recovery codes (Argon2id hashes,
//! single use).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum UserFactors {
    Table,
    UserId,
    /// `totp` (email codes will be another kind).
    Kind,
    /// A compact JWE under the master key.
    SecretJwe,
    /// Unix milliseconds, for the times below.
    CreatedAt,
    /// Unset while the enrolment waits for its first code.
    ConfirmedAt,
}

#[derive(DeriveIden)]
enum RecoveryCodes {
    Table,
    Id,
    UserId,
    CodeHash,
    CreatedAt,
    UsedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(UserFactors::Table)
                    .col(ColumnDef::new(UserFactors::UserId).string().not_null())
                    .col(ColumnDef::new(UserFactors::Kind).string().not_null())
                    .col(ColumnDef::new(UserFactors::SecretJwe).text().not_null())
                    .col(
                        ColumnDef::new(UserFactors::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(UserFactors::ConfirmedAt)
                            .big_integer()
                            .null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(UserFactors::UserId)
                            .col(UserFactors::Kind),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RecoveryCodes::Table)
                    .col(
                        ColumnDef::new(RecoveryCodes::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(RecoveryCodes::UserId).string().not_null())
                    .col(ColumnDef::new(RecoveryCodes::CodeHash).string().not_null())
                    .col(
                        ColumnDef::new(RecoveryCodes::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(RecoveryCodes::UsedAt).big_integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_recovery_codes_user")
                    .table(RecoveryCodes::Table)
                    .col(RecoveryCodes::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RecoveryCodes::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(UserFactors::Table).to_owned())
            .await
    }
}
