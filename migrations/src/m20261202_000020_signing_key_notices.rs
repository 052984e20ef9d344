//! PostgreSQL tells every Gatehouse instance when a signing key is added, changed or
//! removed, so a rotation or a revocation (by any instance or by the CLI) is taken up at
//! once rather than at the next poll (see `keys::notices`). SQLite has no notifications:
//! there the poll alone follows the keys.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
CREATE OR REPLACE FUNCTION gatehouse_notify_signing_keys() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('gatehouse_signing_keys', '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER signing_keys_notify_change
    AFTER INSERT OR UPDATE OR DELETE ON signing_keys
    FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_notify_signing_keys();
"#;

const DOWN: &str = r#"
DROP TRIGGER IF EXISTS signing_keys_notify_change ON signing_keys;
DROP FUNCTION IF EXISTS gatehouse_notify_signing_keys();
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager.get_connection().execute_unprepared(UP).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            manager.get_connection().execute_unprepared(DOWN).await?;
        }
        Ok(())
    }
}
