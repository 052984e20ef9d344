//! Client registrations in RFC 7591 terms (§2 metadata, §3.2.1 response), as the admin API
//! reads and writes them and the CLI prints them. Unknown fields are refused, not ignored:
//! a misspelt field must not silently register something else.

use serde::Deserialize;
use serde_json::{Value, json};

use super::AdminError;
use super::clients::{ClientAlgs, DEFAULT_SCOPES, NewClient};
use crate::clients::{ApplicationType, AuthMethod, Client, GrantType};
use crate::keys::Alg;

/// A registration request (RFC 7591 §2).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientMetadata {
    pub client_name: String,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Defaults to `authorization_code` and `refresh_token`.
    pub grant_types: Option<Vec<String>>,
    /// Space-separated; defaults to `openid profile email offline_access`.
    pub scope: Option<String>,
    /// `none` makes a public client; otherwise it gets a secret (`client_secret_basic`).
    pub token_endpoint_auth_method: Option<String>,
    /// `web` (the default) or `native`.
    pub application_type: Option<String>,
    /// One of the operator's own applications: no consent screen.
    #[serde(default)]
    pub first_party: bool,
    /// `RS256` (default), `ES256` or `EdDSA` (OIDC Registration §2).
    pub id_token_signed_response_alg: Option<String>,
    /// Set: userinfo answers are JWTs signed with it (OIDC Registration §2).
    pub userinfo_signed_response_alg: Option<String>,
    /// `RS256` (default), `ES256` or `EdDSA`: the client's access tokens.
    pub access_token_signed_response_alg: Option<String>,
}

impl ClientMetadata {
    /// The registration it asks for, or the first field that cannot be one.
    pub fn into_new_client(self) -> Result<NewClient, AdminError> {
        let grant_types = match &self.grant_types {
            None => vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            Some(names) => names
                .iter()
                .map(|n| grant_type("grant_types", n))
                .collect::<Result<_, _>>()?,
        };
        let public = match self.token_endpoint_auth_method.as_deref() {
            None | Some("client_secret_basic" | "client_secret_post") => false,
            Some("none") => true,
            Some(other) => {
                return Err(AdminError::invalid(
                    "token_endpoint_auth_method",
                    format!("{other:?} is not none, client_secret_basic or client_secret_post"),
                ));
            }
        };
        let application_type = match self.application_type.as_deref() {
            None => ApplicationType::Web,
            Some(name) => ApplicationType::parse(name).ok_or_else(|| {
                AdminError::invalid("application_type", format!("{name:?} is not web or native"))
            })?,
        };
        let scopes = match &self.scope {
            None => DEFAULT_SCOPES.map(str::to_owned).to_vec(),
            Some(scope) => scope.split_ascii_whitespace().map(str::to_owned).collect(),
        };
        Ok(NewClient {
            name: self.client_name,
            redirect_uris: self.redirect_uris,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            grant_types,
            scopes,
            public,
            first_party: self.first_party,
            application_type,
            jwks: None,
            registration_token_sha256: None,
            algs: algs_of(
                self.id_token_signed_response_alg.as_deref(),
                self.userinfo_signed_response_alg.as_deref(),
                self.access_token_signed_response_alg.as_deref(),
            )?,
        })
    }
}

/// The signing algorithms named (RS256 tokens and plain userinfo where none is).
pub fn algs_of(
    id_token: Option<&str>,
    userinfo: Option<&str>,
    access_token: Option<&str>,
) -> Result<ClientAlgs, AdminError> {
    let parse = |field: &'static str, name: &str| {
        Alg::parse(name).ok_or_else(|| {
            AdminError::invalid(field, format!("{name:?} is not RS256, ES256 or EdDSA"))
        })
    };
    let defaults = ClientAlgs::default();
    Ok(ClientAlgs {
        id_token: match id_token {
            Some(name) => parse("id_token_signed_response_alg", name)?,
            None => defaults.id_token,
        },
        userinfo: userinfo
            .map(|name| parse("userinfo_signed_response_alg", name))
            .transpose()?,
        access_token: match access_token {
            Some(name) => parse("access_token_signed_response_alg", name)?,
            None => defaults.access_token,
        },
    })
}

/// A grant type by its RFC 7591 name; `field` names the argument in the error.
pub fn grant_type(field: &'static str, name: &str) -> Result<GrantType, AdminError> {
    match name {
        "authorization_code" => Ok(GrantType::AuthorizationCode),
        "refresh_token" => Ok(GrantType::RefreshToken),
        "client_credentials" => Ok(GrantType::ClientCredentials),
        other => Err(AdminError::invalid(
            field,
            format!("{other:?} is not authorization_code, refresh_token or client_credentials"),
        )),
    }
}

/// A registration as RFC 7591 §3.2.1 shows it (never the secret's digest).
pub fn metadata_of(client: &Client) -> Value {
    let method = match client.auth_methods.first() {
        Some(AuthMethod::ClientSecretBasic) => "client_secret_basic",
        Some(AuthMethod::ClientSecretPost) => "client_secret_post",
        Some(AuthMethod::PrivateKeyJwt) => "private_key_jwt",
        Some(AuthMethod::None) | None => "none",
    };
    let grants: Vec<&str> = client.grant_types.iter().map(|g| g.as_str()).collect();
    json!({
        "client_id": client.id,
        "client_name": client.name,
        "application_type": client.application_type.as_str(),
        "token_endpoint_auth_method": method,
        "grant_types": grants,
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "scope": client.scopes.join(" "),
        "first_party": !client.require_consent,
        "self_registered": client.registration_token_sha256.is_some(),
        "id_token_signed_response_alg": client.id_token_alg.as_str(),
        "userinfo_signed_response_alg": client.userinfo_alg.map(Alg::as_str),
        "access_token_signed_response_alg": client.access_token_alg.as_str(),
    })
}

/// A rotation as the CLI and the admin API show it: `previous_secret_expires_at` is when
/// the old secret stops working (Unix seconds; absent when it already has).
pub fn rotated_json(client_id: &str, rotated: &super::clients::Rotated) -> Value {
    let mut shown = json!({ "client_id": client_id, "client_secret": rotated.secret });
    if let Some(at) = rotated.previous_expires_at {
        shown["previous_secret_expires_at"] = json!(at);
    }
    shown
}
