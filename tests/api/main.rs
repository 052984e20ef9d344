//! One integration-test binary: every module below runs against the real server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod flow;
mod helpers;

mod abuse;
mod account;
mod accounts;
mod admin_api;
mod admin_changes;
mod admin_users;
mod browser;
mod cli;
mod cli_users;
mod config;
mod cors;
mod discovery;
mod faults;
mod health;
mod instances;
mod lifecycle;
mod logout;
mod logs;
mod mail;
mod mfa;
mod mfa_login;
mod mfa_pages;
mod native;
mod negative;
mod private_key_jwt;
mod review;
mod rewrap;
mod roles;
mod rp;
mod shape;
mod sso;
mod store_contract;
