//! The audit log: one row per security event (sign-ins, tokens, revocations, lockouts…),
//! written in batches off the request path and purged after `audit.retention_days`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    /// Unix milliseconds.
    At,
    Kind,
    UserId,
    ClientId,
    Ip,
    UserAgent,
    RequestId,
    /// A small JSON object; never a secret.
    Detail,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    // An integer key: rows append in key order (a random text key would
                    // scatter every insert across a B-tree of its own).
                    .col(
                        ColumnDef::new(AuditEvents::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(AuditEvents::At).big_integer().not_null())
                    .col(ColumnDef::new(AuditEvents::Kind).string().not_null())
                    .col(ColumnDef::new(AuditEvents::UserId).string().null())
                    .col(ColumnDef::new(AuditEvents::ClientId).string().null())
                    .col(ColumnDef::new(AuditEvents::Ip).string().not_null())
                    .col(ColumnDef::new(AuditEvents::UserAgent).string().not_null())
                    .col(ColumnDef::new(AuditEvents::RequestId).string().not_null())
                    .col(ColumnDef::new(AuditEvents::Detail).text().not_null())
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            ("idx_audit_events_at", vec![AuditEvents::At]),
            (
                "idx_audit_events_user",
                vec![AuditEvents::UserId, AuditEvents::At],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(AuditEvents::Table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditEvents::Table).to_owned())
            .await
    }
}
