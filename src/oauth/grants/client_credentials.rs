//! `grant_type=client_credentials` (RFC 6749 §4.4): a confidential client acting for
//! itself. Only an access token: no refresh token (§4.4.3), no id_token (no user).

use crate::clients::Client;
use crate::clock::UnixTime;
use crate::oauth::token_request::ClientCredentialsRequest;
use crate::oauth::tokens::{AccessSubject, TokenResponse};
use crate::oauth::{Error, Scopes};

use super::Grants;

/// Scopes that describe a user and mean nothing without one.
const USER_SCOPES: [&str; 2] = ["openid", "offline_access"];

pub async fn grant(
    ctx: &Grants,
    client: &Client,
    request: &ClientCredentialsRequest,
    at: UnixTime,
) -> Result<TokenResponse, Error> {
    if client.is_public() {
        return Err(Error::UnauthorizedClient(
            "public clients cannot use client_credentials".into(),
        ));
    }
    let scope = match &request.scope {
        Some(scope) => {
            if !scope.within(&client.scopes) || USER_SCOPES.iter().any(|s| scope.contains(s)) {
                return Err(Error::InvalidScope(
                    "scope includes values this client may not request".into(),
                ));
            }
            scope.clone()
        }
        None => {
            let allowed: Vec<&str> = client
                .scopes
                .iter()
                .map(String::as_str)
                .filter(|s| !USER_SCOPES.contains(s))
                .collect();
            Scopes::parse(&allowed.join(" "))?
        }
    };
    let ttl = ctx.access_ttl(client);
    let resources = request
        .resources
        .clone()
        .allowed_for(&client.allowed_resources)?;
    let subject = AccessSubject {
        sub: &client.id,
        client_id: &client.id,
        scope: &scope,
        resources: &resources,
        auth_time: None,
        sid: None,
        ttl,
        roles: None,
        alg: client.access_token_alg,
    };
    let (access_token, _) =
        ctx.minter()
            .access_token(&subject, &crate::random::token(), at.secs())?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer".to_owned(),
        expires_in: ttl,
        refresh_token: None,
        id_token: None,
        scope: scope.to_string(),
    })
}
