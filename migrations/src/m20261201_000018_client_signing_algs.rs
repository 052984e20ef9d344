//! Per-client signing algorithms (OIDC Registration §2): `id_token_signed_response_alg`,
//! `userinfo_signed_response_alg` (a signed userinfo answer when set) and the algorithm of
//! the client's access tokens. NULL means RS256 for tokens and a plain JSON userinfo.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Clients {
    Table,
    IdTokenSignedResponseAlg,
    UserinfoSignedResponseAlg,
    AccessTokenSignedResponseAlg,
}

const COLUMNS: [Clients; 3] = [
    Clients::IdTokenSignedResponseAlg,
    Clients::UserinfoSignedResponseAlg,
    Clients::AccessTokenSignedResponseAlg,
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        for column in COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table(Clients::Table)
                        .add_column(ColumnDef::new(column).string_len(10).null())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in COLUMNS {
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
