//! The operator's commands (`gatehouse client …`, `user …`, `role …`,
//! `registration-token …`): parsed with clap,
//! carried out by the admin service ([`crate::admin`]) on the database the configuration
//! names (migrated first, so they work before any server has started), printed as a table
//! or, with `--output json`, as JSON for scripts.
//!
//! Exit codes: 0 done; 1 an unexpected failure; 2 bad usage; 3 a value breaks a rule (the
//! message names the argument); 4 no such client, user or role; 5 it clashes with what
//! exists.

mod client;
mod keys;
mod registration;
mod role;
mod user;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::Value;

use crate::admin::{Admin, AdminError};
use crate::settings::Settings;

#[derive(Parser)]
#[command(
    name = "gatehouse",
    about = "Operate Gatehouse: clients, users, roles, registration tokens and signing keys"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How to print the result.
    #[arg(long, global = true, value_enum, default_value_t = Output::Table)]
    output: Output,
}

#[derive(Subcommand)]
enum Command {
    /// Register and manage OAuth clients.
    #[command(subcommand)]
    Client(client::ClientCommand),
    /// Create and manage users: passwords, roles, disabling.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Create and list roles.
    #[command(subcommand)]
    Role(role::RoleCommand),
    /// Initial access tokens for dynamic client registration.
    #[command(subcommand)]
    RegistrationToken(registration::RegistrationTokenCommand),
    /// Signing keys: list, rotate, revoke.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
}

/// Whether `args` are one of the operator's commands this module runs (`keys rewrap` is
/// the binary's own).
pub fn handles(args: &[String]) -> bool {
    match args.first().map(String::as_str) {
        Some("client" | "user" | "role" | "registration-token") => true,
        Some("keys") => args.get(1).is_some_and(|sub| sub != "rewrap"),
        _ => false,
    }
}

/// Parses and runs an operator's command (`args` without the program name).
pub async fn run(args: &[String]) -> ExitCode {
    let argv = std::iter::once("gatehouse".to_owned()).chain(args.iter().cloned());
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(usage) => {
            let _ = usage.print();
            return ExitCode::from(if usage.use_stderr() { 2 } else { 0 });
        }
    };
    match execute(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("gatehouse: error: {error:#}");
            ExitCode::from(exit_code(&error))
        }
    }
}

async fn execute(cli: Cli) -> Result<(), AdminError> {
    let admin = connect().await?;
    let printed = match cli.command {
        Command::Client(command) => client::run(&admin, command).await?,
        Command::User(command) => user::run(&admin, command).await?,
        Command::Role(command) => role::run(&admin, command).await?,
        Command::RegistrationToken(command) => registration::run(&admin, command).await?,
        Command::Keys(command) => {
            let settings = Settings::load()?;
            let keys = crate::admin::keys::KeyAdmin::from_settings(&settings)?;
            let admin = Admin {
                keys: Some(keys),
                ..admin
            };
            keys::run(&admin, command).await?
        }
    };
    print(cli.output, &printed);
    Ok(())
}

/// The admin service on the configured database, migrated.
async fn connect() -> anyhow::Result<Admin> {
    let settings = Settings::load()?;
    let db = crate::database::connect(&settings.database).await?;
    crate::database::migrate(&db).await?;
    Ok(Admin {
        db,
        // Nothing serves these metrics: a command has no listener.
        passwords: crate::accounts::Passwords::new(
            &settings.passwords,
            &crate::metrics::Metrics::new()?,
        )?,
        policy: crate::accounts::PasswordPolicy::from(&settings.passwords),
        clock: crate::clock::system(),
        origin: Admin::cli_origin(),
        by: None,
        secret_overlap: std::time::Duration::from_secs(settings.admin.secret_rotation_overlap_secs),
        algorithms: crate::keys::enabled(&settings.keys.algorithms)?,
        // Only `keys` commands need the master key (required with PostgreSQL).
        keys: None,
    })
}

/// What a command prints: JSON for scripts, and the same as `field: value` lines (one
/// object) or a table (a list of objects) for people.
pub struct Printed {
    pub json: Value,
    /// For a list: the columns a table shows, in order.
    pub columns: &'static [&'static str],
    /// Said after the table (e.g. that a secret is shown only once).
    pub note: Option<&'static str>,
}

/// One object, printed as `field: value` lines.
fn one(json: Value, note: Option<&'static str>) -> Printed {
    Printed {
        json,
        columns: &[],
        note,
    }
}

fn print(output: Output, printed: &Printed) {
    match output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&printed.json).unwrap_or_default()
        ),
        Output::Table => {
            print!("{}", table(printed));
            if let Some(note) = printed.note {
                println!("{note}");
            }
        }
    }
}

/// The human form: `field: value` lines for one object, aligned columns for a list.
fn table(printed: &Printed) -> String {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(" "),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let Value::Array(rows) = &printed.json else {
        let Value::Object(fields) = &printed.json else {
            return format!("{}\n", text(&printed.json));
        };
        return fields
            .iter()
            .map(|(k, v)| format!("{k}: {}\n", text(v)))
            .collect();
    };
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| printed.columns.iter().map(|c| text(&row[*c])).collect())
        .collect();
    let widths: Vec<usize> = printed
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain([c.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |values: Vec<&str>| {
        let padded: Vec<String> = values
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:<w$}"))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(printed.columns.to_vec());
    for row in &cells {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

fn exit_code(error: &AdminError) -> u8 {
    match error {
        AdminError::Unexpected(_) | AdminError::Service(_) => 1,
        AdminError::Invalid { .. } => 3,
        AdminError::NotFound { .. } => 4,
        AdminError::Conflict(_) | AdminError::VersionRequired | AdminError::VersionChanged => 5,
    }
}
