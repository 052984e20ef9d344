//! One integration-test binary: every module below runs against the real server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod config;
mod discovery;
mod health;
mod store_contract;
