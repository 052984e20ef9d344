//! `gatehouse user create|show|list|set-password|add-role|remove-role|disable|enable`.
//!
//! A password is read from the first line of stdin (`--password-stdin`), never taken as an
//! argument: arguments show in `ps` and in shell history.

use std::io::BufRead;

use anyhow::Context;
use clap::{Args, Subcommand};
use secrecy::SecretString;
use serde_json::{Value, json};

use super::{Printed, one};
use crate::accounts::User;
use crate::admin::users::NewUser;
use crate::admin::{Admin, AdminError};

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user with a verified email, reading the password from stdin.
    Create(CreateArgs),
    /// Every user, by email.
    List,
    /// One user, by email or id.
    Show { user: String },
    /// Replace a user's password, reading it from stdin.
    SetPassword {
        user: String,
        #[command(flatten)]
        stdin: PasswordStdin,
    },
    /// Give a user an existing role.
    AddRole { user: String, role: String },
    /// Take a role from a user.
    RemoveRole { user: String, role: String },
    /// Stop a user signing in; their refresh tokens are refused from now on.
    Disable { user: String },
    /// Let a disabled user sign in again.
    Enable { user: String },
}

#[derive(Args)]
pub struct CreateArgs {
    #[arg(long)]
    email: String,
    /// The name shown on our pages and given to clients (default: the email's local part).
    #[arg(long)]
    name: Option<String>,
    /// A role the user holds from the start (repeat for more); it must exist.
    #[arg(long = "role")]
    roles: Vec<String>,
    #[command(flatten)]
    stdin: PasswordStdin,
}

#[derive(Args)]
pub struct PasswordStdin {
    /// Read the password from the first line of stdin (the only way to give one).
    #[arg(long, required = true)]
    password_stdin: bool,
}

pub async fn run(admin: &Admin, command: UserCommand) -> Result<Printed, AdminError> {
    let user = match command {
        UserCommand::Create(args) => {
            let new = NewUser {
                email: args.email,
                name: args.name,
                roles: args.roles,
                password: password_from_stdin()?,
            };
            admin.create_user(new).await?
        }
        UserCommand::List => {
            let users = admin.users().await?;
            return Ok(Printed {
                json: Value::Array(users.iter().map(account).collect()),
                columns: &["email", "name", "roles", "disabled", "id"],
                note: None,
            });
        }
        UserCommand::Show { user } => admin.user(&user).await?,
        UserCommand::SetPassword { user, .. } => {
            let password = password_from_stdin()?;
            admin.set_password(&user, &password).await?
        }
        UserCommand::AddRole { user, role } => admin.add_role(&user, &role).await?,
        UserCommand::RemoveRole { user, role } => admin.remove_role(&user, &role).await?,
        UserCommand::Disable { user } => admin.disable(&user).await?,
        UserCommand::Enable { user } => admin.enable(&user).await?,
    };
    Ok(one(account(&user), None))
}

/// The first line of stdin without its line ending (`\n` or `\r\n`); an empty one is
/// refused rather than set.
fn password_from_stdin() -> Result<SecretString, AdminError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from stdin")?;
    if line.ends_with('\n') {
        line.pop();
        if line.ends_with('\r') {
            line.pop();
        }
    }
    if line.is_empty() {
        return Err(AdminError::invalid(
            "--password-stdin",
            "stdin held no password (pipe it in, one line)",
        ));
    }
    Ok(SecretString::from(line))
}

/// A user as scripts see them (never the password hash).
fn account(user: &User) -> Value {
    json!({
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "email_verified": user.email_verified,
        "disabled": user.disabled,
        "roles": user.roles,
    })
}
