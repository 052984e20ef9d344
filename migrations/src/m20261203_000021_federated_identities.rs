//! Sign-in through upstream identity providers: which upstream account (provider and its
//! subject) belongs to which user. One upstream account signs in one user; a user may link
//! several providers. The email is the one the upstream gave when the link was made, shown
//! on the account page (the upstream's address may change later; the subject never does).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum FederatedIdentities {
    Table,
    /// The `id` of the provider in `[[federation.providers]]`.
    Provider,
    /// The upstream's `sub` (or the claim a provider's `claims.subject` names).
    Subject,
    UserId,
    /// The upstream email when the link was made, if it sent one.
    Email,
    /// Unix milliseconds.
    LinkedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(FederatedIdentities::Table)
                    .col(
                        ColumnDef::new(FederatedIdentities::Provider)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FederatedIdentities::Subject)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(FederatedIdentities::UserId)
                            .string()
                            .not_null(),
                    )
                    .col(ColumnDef::new(FederatedIdentities::Email).string().null())
                    .col(
                        ColumnDef::new(FederatedIdentities::LinkedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(FederatedIdentities::Provider)
                            .col(FederatedIdentities::Subject),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(FederatedIdentities::Table, FederatedIdentities::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("federated_identities_user")
                    .table(FederatedIdentities::Table)
                    .col(FederatedIdentities::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(FederatedIdentities::Table).to_owned())
            .await
    }
}
