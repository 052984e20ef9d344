//! `gatehouse registration-token create`: initial access tokens (RFC 7591 §3.1) for
//! `registration.mode = "initial_token"`.

use std::time::Duration;

use clap::Subcommand;
use serde_json::json;

use super::{Printed, one};
use crate::admin::{Admin, AdminError};

#[derive(Subcommand)]
pub enum RegistrationTokenCommand {
    /// An initial access token a relying party presents (as a Bearer token) to register
    /// itself; shown once.
    Create {
        /// How many registrations it allows (no limit when left out).
        #[arg(long)]
        uses: Option<u32>,
        /// How long it works, in seconds (a day unless given; at most a year).
        #[arg(long, default_value_t = 86_400)]
        expires_in_secs: u64,
    },
}

pub async fn run(admin: &Admin, command: RegistrationTokenCommand) -> Result<Printed, AdminError> {
    let RegistrationTokenCommand::Create {
        uses,
        expires_in_secs,
    } = command;
    let issued = admin
        .create_initial_token(uses, Duration::from_secs(expires_in_secs))
        .await?;
    let shown = json!({
        "initial_access_token": issued.token,
        "expires_at": issued.expires_at,
        "uses": issued.uses,
    });
    Ok(one(
        shown,
        Some("The initial_access_token is shown this once: hand it over now."),
    ))
}
