//! `gatehouse keys list|rotate|revoke`: the signing keys, on the same database and
//! configuration as the servers, which take a change up within seconds. (`keys rewrap`, of
//! the master key, is the binary's own command.)

use clap::Subcommand;
use serde_json::{Value, json};

use super::{Printed, one};
use crate::admin::{Admin, AdminError};
use crate::keys::Alg;

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Every key: its state (next, active, retiring, retired, revoked) and times.
    List,
    /// A new key, published now and signing after keys.publish_delay_secs; the key it
    /// replaces stays published until the tokens it signed have expired.
    Rotate {
        /// RS256, ES256 or EdDSA; every enabled algorithm when left out.
        #[arg(long)]
        alg: Option<String>,
    },
    /// Out of the JWKS at once, its tokens refused (relying parties that cached the JWKS
    /// trust it until their cache expires); a signing key is replaced at once.
    Revoke { kid: String },
}

pub async fn run(admin: &Admin, command: KeysCommand) -> Result<Printed, AdminError> {
    Ok(match command {
        KeysCommand::List => Printed {
            json: serde_json::to_value(admin.keys().await?).map_err(anyhow::Error::from)?,
            columns: &[
                "kid",
                "alg",
                "state",
                "created_at",
                "activates_at",
                "retire_after",
            ],
            note: None,
        },
        KeysCommand::Rotate { alg } => {
            let alg = match alg.as_deref() {
                Some(name) => Some(Alg::parse(name).ok_or_else(|| {
                    AdminError::invalid("--alg", format!("{name:?} is not RS256, ES256 or EdDSA"))
                })?),
                None => None,
            };
            let rotated = admin.rotate_keys(alg).await?;
            Printed {
                json: serde_json::to_value(rotated).map_err(anyhow::Error::from)?,
                columns: &["kid", "alg", "activates_at"],
                note: None,
            }
        }
        KeysCommand::Revoke { kid } => {
            let revoked = admin.revoke_key(&kid).await?;
            let shown: Value = json!({ "kid": revoked.kid, "replacement": revoked.replacement });
            one(shown, None)
        }
    })
}
