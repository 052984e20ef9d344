//! PostgreSQL tells every Gatehouse instance when a user row changes or goes, so a cached
//! "this user is active" is dropped at once when an account is disabled or deleted (see
//! `accounts::status`). SQLite has no notifications and needs nothing here.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
CREATE OR REPLACE FUNCTION gatehouse_notify_user_change() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('gatehouse_user_changes', OLD.id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER users_notify_change
    AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION gatehouse_notify_user_change();
"#;

const DOWN: &str = r#"
DROP TRIGGER IF EXISTS users_notify_change ON users;
DROP FUNCTION IF EXISTS gatehouse_notify_user_change();
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
