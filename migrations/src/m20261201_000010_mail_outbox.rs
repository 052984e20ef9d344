//! The mail outbox: a message is a row written in the same transaction as the change that
//! causes it (a registration, a reset), so a crash can neither lose it nor send it for a
//! change that was rolled back. A background worker claims, delivers and marks rows.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MailOutbox {
    Table,
    Id,
    Recipient,
    Subject,
    TextBody,
    HtmlBody,
    /// Unix milliseconds, for all the times below.
    CreatedAt,
    /// Delivery attempts made so far.
    Attempts,
    /// The earliest time of the next attempt (backoff).
    NextAttemptAt,
    /// A worker holds the row until then; a crashed worker's claim lapses.
    ClaimedUntil,
    SentAt,
    /// Set when the worker gave up after `mail.max_attempts`; the row is kept.
    FailedAt,
    LastError,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MailOutbox::Table)
                    .col(
                        ColumnDef::new(MailOutbox::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(MailOutbox::Recipient).string().not_null())
                    .col(ColumnDef::new(MailOutbox::Subject).string().not_null())
                    .col(ColumnDef::new(MailOutbox::TextBody).text().not_null())
                    .col(ColumnDef::new(MailOutbox::HtmlBody).text().not_null())
                    .col(
                        ColumnDef::new(MailOutbox::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MailOutbox::Attempts)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(MailOutbox::NextAttemptAt)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MailOutbox::ClaimedUntil)
                            .big_integer()
                            .null(),
                    )
                    .col(ColumnDef::new(MailOutbox::SentAt).big_integer().null())
                    .col(ColumnDef::new(MailOutbox::FailedAt).big_integer().null())
                    .col(ColumnDef::new(MailOutbox::LastError).text().null())
                    .to_owned(),
            )
            .await?;
        // The worker's query: unsent, not given up, due.
        manager
            .create_index(
                Index::create()
                    .name("idx_mail_outbox_due")
                    .table(MailOutbox::Table)
                    .col(MailOutbox::SentAt)
                    .col(MailOutbox::FailedAt)
                    .col(MailOutbox::NextAttemptAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MailOutbox::Table).to_owned())
            .await
    }
}
