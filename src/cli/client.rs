//! `gatehouse client create|list|show|delete|rotate-secret`.

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::{Printed, one};
use crate::admin::clients::NewClient;
use crate::admin::registration::{algs_of, grant_type, metadata_of, rotated_json};
use crate::admin::{Admin, AdminError};
use crate::clients::ApplicationType;

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Register a client; prints its client_id and, for a confidential client, its
    /// client_secret (shown this once).
    Create(CreateArgs),
    /// Every client.
    List,
    /// One client's registration.
    Show { client_id: String },
    /// Delete a client and the consents given to it.
    Delete { client_id: String },
    /// A new secret for a confidential client, shown once; the old one keeps working for
    /// the overlap (admin.secret_rotation_overlap_secs unless given; 0 after a leak).
    RotateSecret {
        client_id: String,
        #[arg(long)]
        overlap_secs: Option<u64>,
    },
}

#[derive(Args)]
pub struct CreateArgs {
    /// The name people see on the consent page.
    #[arg(long)]
    name: String,
    /// Where codes may be sent (repeat for more); required for the code grant.
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// Where the browser may go after signing out (repeat for more).
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Vec<String>,
    /// Comma-separated: authorization_code, refresh_token, client_credentials.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "authorization_code,refresh_token"
    )]
    grant_types: Vec<String>,
    /// Space-separated scopes the client may ask for.
    #[arg(long, default_value = "openid profile email offline_access")]
    scopes: String,
    /// No secret: a single-page or native app (PKCE is then required).
    #[arg(long)]
    public: bool,
    /// One of your own applications: no consent screen.
    #[arg(long)]
    first_party: bool,
    /// Sign the client's id_tokens (and logout tokens) with RS256 (default), ES256 or EdDSA.
    #[arg(long)]
    id_token_alg: Option<String>,
    /// Sign the client's access tokens with RS256 (default), ES256 or EdDSA.
    #[arg(long)]
    access_token_alg: Option<String>,
    /// Answer the client's userinfo requests with JWTs signed with this algorithm.
    #[arg(long)]
    userinfo_alg: Option<String>,
    /// An app on the user's device (RFC 8252): loopback redirects on any port and its own
    /// URI scheme; implies --public.
    #[arg(long)]
    native: bool,
}

pub async fn run(admin: &Admin, command: ClientCommand) -> Result<Printed, AdminError> {
    Ok(match command {
        ClientCommand::Create(args) => {
            let created = admin.create_client(new_client(args)?).await?;
            let mut json = metadata_of(&created.client);
            let note = match created.secret {
                Some(secret) => {
                    json["client_secret"] = Value::String(secret);
                    SECRET_ONCE
                }
                None => None,
            };
            one(json, note)
        }
        ClientCommand::List => {
            let clients = admin.clients().await?;
            Printed {
                json: Value::Array(clients.iter().map(metadata_of).collect()),
                columns: &[
                    "client_id",
                    "client_name",
                    "token_endpoint_auth_method",
                    "grant_types",
                ],
                note: None,
            }
        }
        ClientCommand::Show { client_id } => {
            one(metadata_of(&admin.client(&client_id).await?), None)
        }
        ClientCommand::Delete { client_id } => {
            admin.delete_client(&client_id).await?;
            one(json!({ "client_id": client_id, "deleted": true }), None)
        }
        ClientCommand::RotateSecret {
            client_id,
            overlap_secs,
        } => {
            let overlap = overlap_secs.map(std::time::Duration::from_secs);
            let rotated = admin.rotate_client_secret(&client_id, overlap).await?;
            one(rotated_json(&client_id, &rotated), SECRET_ONCE)
        }
    })
}

const SECRET_ONCE: Option<&str> = Some("The client_secret is shown this once: store it now.");

fn new_client(args: CreateArgs) -> Result<NewClient, AdminError> {
    let grant_types = args
        .grant_types
        .iter()
        .map(|g| grant_type("--grant-types", g.trim()))
        .collect::<Result<Vec<_>, _>>()?;
    let application_type = match args.native {
        true => ApplicationType::Native,
        false => ApplicationType::Web,
    };
    Ok(NewClient {
        name: args.name,
        redirect_uris: args.redirect_uris,
        post_logout_redirect_uris: args.post_logout_redirect_uris,
        grant_types,
        scopes: args
            .scopes
            .split_ascii_whitespace()
            .map(str::to_owned)
            .collect(),
        public: args.public || args.native,
        first_party: args.first_party,
        application_type,
        jwks: None,
        registration_token_sha256: None,
        algs: algs_of(
            args.id_token_alg.as_deref(),
            args.userinfo_alg.as_deref(),
            args.access_token_alg.as_deref(),
        )
        .map_err(cli_names)?,
    })
}

/// The argument's name for the metadata field in an error.
fn cli_names(error: AdminError) -> AdminError {
    match error {
        AdminError::Invalid { field, message } => {
            let flag = match field {
                "id_token_signed_response_alg" => "--id-token-alg",
                "userinfo_signed_response_alg" => "--userinfo-alg",
                "access_token_signed_response_alg" => "--access-token-alg",
                other => other,
            };
            AdminError::invalid(flag, message)
        }
        other => other,
    }
}
