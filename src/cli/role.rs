//! `gatehouse role create|list`.

use clap::Subcommand;
use serde_json::{Value, json};

use super::{Printed, one};
use crate::accounts::store::RoleHolders;
use crate::admin::{Admin, AdminError};

#[derive(Subcommand)]
pub enum RoleCommand {
    /// Create a role (1 to 64 of a-z, 0-9, _ and -); give it with `user add-role`.
    Create { name: String },
    /// Every role, with how many users hold it.
    List,
}

pub async fn run(admin: &Admin, command: RoleCommand) -> Result<Printed, AdminError> {
    Ok(match command {
        RoleCommand::Create { name } => one(role(&admin.create_role(&name).await?), None),
        RoleCommand::List => Printed {
            json: Value::Array(admin.roles().await?.iter().map(role).collect()),
            columns: &["name", "users"],
            note: None,
        },
    })
}

fn role(role: &RoleHolders) -> Value {
    json!({ "name": role.name, "users": role.users })
}
