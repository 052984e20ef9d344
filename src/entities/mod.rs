//! sea-orm entities, one per table. Rules live in the capability modules, not here.

pub mod account_tokens;
pub mod audit_events;
pub mod clients;
pub mod consents;
pub mod federated_identities;
pub mod initial_access_tokens;
pub mod mail_outbox;
pub mod recovery_codes;
pub mod roles;
pub mod signing_keys;
pub mod user_factors;
pub mod user_roles;
pub mod users;
