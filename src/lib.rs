//! Gatehouse: an OAuth 2.0 / OpenID Connect authorization server.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::await_holding_lock)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod accounts;
pub mod audit;
pub mod clients;
pub mod clock;
pub mod database;
pub mod demo;
pub mod entities;
pub mod http;
pub mod keys;
pub mod limits;
pub mod mail;
pub mod mfa;
pub mod oauth;
pub mod oidc;
pub mod paths;
pub mod proxies;
pub mod random;
pub mod selfservice;
pub mod sessions;
pub mod settings;
pub mod startup;
pub mod store;
pub mod telemetry;
