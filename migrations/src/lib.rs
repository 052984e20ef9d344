//! Database schema migrations, shared by SQLite (embedded default) and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_accounts;
mod m20261123_000002_clients;
mod m20261123_000003_signing_keys;
mod m20261123_000004_consents;
mod m20261123_000005_ephemeral;
mod m20261123_000006_sessions_and_client_keys;
mod m20261123_000007_user_change_notices;
mod m20261201_000008_client_policies;
mod m20261201_000009_audit_events;
mod m20261201_000010_mail_outbox;
mod m20261201_000011_account_tokens;
mod m20261201_000012_second_factors;
mod m20261201_000013_client_require_mfa;
mod m20261201_000014_client_application_type;
mod m20261201_000015_client_version;
mod m20261201_000016_client_previous_secret;
mod m20261201_000017_dynamic_registration;
mod m20261201_000018_client_signing_algs;
mod m20261201_000019_key_schedule;
mod m20261202_000020_signing_key_notices;
mod m20261203_000021_federated_identities;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_accounts::Migration),
            Box::new(m20261123_000002_clients::Migration),
            Box::new(m20261123_000003_signing_keys::Migration),
            Box::new(m20261123_000004_consents::Migration),
            Box::new(m20261123_000005_ephemeral::Migration),
            Box::new(m20261123_000006_sessions_and_client_keys::Migration),
            Box::new(m20261123_000007_user_change_notices::Migration),
            Box::new(m20261201_000008_client_policies::Migration),
            Box::new(m20261201_000009_audit_events::Migration),
            Box::new(m20261201_000010_mail_outbox::Migration),
            Box::new(m20261201_000011_account_tokens::Migration),
            Box::new(m20261201_000012_second_factors::Migration),
            Box::new(m20261201_000013_client_require_mfa::Migration),
            Box::new(m20261201_000014_client_application_type::Migration),
            Box::new(m20261201_000015_client_version::Migration),
            Box::new(m20261201_000016_client_previous_secret::Migration),
            Box::new(m20261201_000017_dynamic_registration::Migration),
            Box::new(m20261201_000018_client_signing_algs::Migration),
            Box::new(m20261201_000019_key_schedule::Migration),
            Box::new(m20261202_000020_signing_key_notices::Migration),
            Box::new(m20261203_000021_federated_identities::Migration),
        ]
    }
}
