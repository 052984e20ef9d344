//! Client authentication at the token endpoint (RFC 6749 §2.3, OIDC Core §9): exactly one
//! method per request, and only the methods registered for the client.

use sea_orm::DatabaseConnection;

use crate::clients::{self, AuthMethod, Client};
use crate::oauth::Error;
use crate::oauth::authorize::Params;

/// What the request presented.
pub struct Presented {
    pub client_id: String,
    pub secret: Option<String>,
    pub method: AuthMethod,
}

/// `basic` is the decoded `Authorization: Basic` pair, if the header was sent.
pub fn presented(basic: Option<(String, String)>, params: &Params) -> Result<Presented, Error> {
    let body_id = params.get("client_id");
    let body_secret = params.get("client_secret");
    match (basic, body_secret) {
        (Some(_), Some(_)) => Err(Error::invalid_request(
            "use one client authentication method, not two",
        )),
        (Some((id, secret)), None) => {
            if body_id.is_some_and(|b| b != id) {
                return Err(Error::invalid_request(
                    "client_id differs from the authenticated client",
                ));
            }
            Ok(Presented {
                client_id: id,
                secret: Some(secret),
                method: AuthMethod::ClientSecretBasic,
            })
        }
        (None, Some(secret)) => Ok(Presented {
            client_id: body_id
                .ok_or_else(|| Error::invalid_client("client_id is missing", false))?
                .to_owned(),
            secret: Some(secret.to_owned()),
            method: AuthMethod::ClientSecretPost,
        }),
        (None, None) => Ok(Presented {
            client_id: body_id
                .ok_or_else(|| Error::invalid_client("client authentication is missing", false))?
                .to_owned(),
            secret: None,
            method: AuthMethod::None,
        }),
    }
}

/// Looks up the client and checks the presented credentials in constant time.
pub async fn authenticate(db: &DatabaseConnection, presented: Presented) -> Result<Client, Error> {
    let basic = presented.method == AuthMethod::ClientSecretBasic;
    let fail = || Error::invalid_client("client authentication failed", basic);
    let client = clients::store::find(db, &presented.client_id)
        .await
        .map_err(|e| Error::Unexpected(e).classify())?
        .ok_or_else(fail)?;
    if !client.allows_auth_method(presented.method) {
        return Err(fail());
    }
    match (&presented.secret, presented.method) {
        (None, AuthMethod::None) if client.is_public() => Ok(client),
        (Some(secret), AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost)
            if client.secret_matches(secret) =>
        {
            Ok(client)
        }
        _ => Err(fail()),
    }
}
