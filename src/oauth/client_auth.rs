//! Client authentication (RFC 6749 §2.3, RFC 7523 §2.2, OIDC Core §9): exactly one method
//! per request, and only the methods registered for the client.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::DatabaseConnection;
use serde::Deserialize;

use crate::clients::{self, AuthMethod, Client};
use crate::keys;
use crate::oauth::Error;
use crate::oauth::authorize::Params;
use crate::store::EphemeralStore;

pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// What the request presented.
pub struct Presented {
    pub client_id: String,
    pub secret: Option<String>,
    pub assertion: Option<String>,
    pub method: AuthMethod,
}

/// `basic` is the decoded `Authorization: Basic` pair, if the header was sent.
pub fn presented(basic: Option<(String, String)>, params: &Params) -> Result<Presented, Error> {
    let body_id = params.get("client_id");
    let body_secret = params.get("client_secret");
    let assertion = assertion(params)?;
    let methods = usize::from(basic.is_some())
        + usize::from(body_secret.is_some())
        + usize::from(assertion.is_some());
    if methods > 1 {
        return Err(Error::invalid_request(
            "use one client authentication method, not two",
        ));
    }
    let named = |id: Option<&str>, missing: &str| {
        id.map(str::to_owned)
            .ok_or_else(|| Error::invalid_client(missing, false))
    };
    if let Some((assertion, subject)) = assertion {
        if body_id.is_some_and(|b| b != subject) {
            return Err(Error::invalid_client(
                "client_id differs from the assertion's subject",
                false,
            ));
        }
        return Ok(Presented {
            client_id: subject,
            secret: None,
            assertion: Some(assertion),
            method: AuthMethod::PrivateKeyJwt,
        });
    }
    match (basic, body_secret) {
        (Some((id, secret)), _) => {
            if body_id.is_some_and(|b| b != id) {
                return Err(Error::invalid_request(
                    "client_id differs from the authenticated client",
                ));
            }
            Ok(Presented {
                client_id: id,
                secret: Some(secret),
                assertion: None,
                method: AuthMethod::ClientSecretBasic,
            })
        }
        (None, Some(secret)) => Ok(Presented {
            client_id: named(body_id, "client_id is missing")?,
            secret: Some(secret.to_owned()),
            assertion: None,
            method: AuthMethod::ClientSecretPost,
        }),
        (None, None) => Ok(Presented {
            client_id: named(body_id, "client authentication is missing")?,
            secret: None,
            assertion: None,
            method: AuthMethod::None,
        }),
    }
}

/// The assertion and the client it names (`sub`, read before the signature is checked, only
/// to find whose keys to check it with).
fn assertion(params: &Params) -> Result<Option<(String, String)>, Error> {
    let (kind, value) = (
        params.get("client_assertion_type"),
        params.get("client_assertion"),
    );
    match (kind, value) {
        (None, None) => Ok(None),
        (Some(JWT_BEARER_ASSERTION), Some(value)) => {
            let claims = unverified_claims(value)
                .ok_or_else(|| Error::invalid_client("malformed client assertion", false))?;
            Ok(Some((value.to_owned(), claims.sub)))
        }
        (Some(JWT_BEARER_ASSERTION), None) => {
            Err(Error::invalid_request("client_assertion is missing"))
        }
        _ => Err(Error::invalid_request("unsupported client_assertion_type")),
    }
}

/// RFC 7523 §3 claims.
#[derive(Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    aud: Audience,
    exp: i64,
    jti: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains_any(&self, wanted: &[String]) -> bool {
        match self {
            Audience::One(a) => wanted.contains(a),
            Audience::Many(all) => all.iter().any(|a| wanted.contains(a)),
        }
    }
}

fn unverified_claims(jwt: &str) -> Option<AssertionClaims> {
    let payload = jwt.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

/// Where client authentication is checked: our database, store (for replay), and the
/// audiences an assertion may name (the issuer and the endpoint being called).
pub struct AuthContext<'a> {
    pub db: &'a DatabaseConnection,
    pub clients: &'a clients::ClientCache,
    pub store: &'a dyn EphemeralStore,
    pub audiences: &'a [String],
    pub now: i64,
}

/// Looks up the client and checks the presented credentials (secrets in constant time).
pub async fn authenticate(ctx: &AuthContext<'_>, presented: Presented) -> Result<Client, Error> {
    let basic = presented.method == AuthMethod::ClientSecretBasic;
    let fail = || Error::invalid_client("client authentication failed", basic);
    let client = ctx
        .clients
        .get(ctx.db, &presented.client_id)
        .await
        .map_err(|e| Error::Unexpected(e).classify())?
        .ok_or_else(fail)?;
    if !client.allows_auth_method(presented.method) {
        return Err(fail());
    }
    match (&presented.secret, &presented.assertion, presented.method) {
        (None, None, AuthMethod::None) if client.is_public() => Ok(client),
        (Some(secret), None, AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost)
            if client.secret_matches(secret) =>
        {
            Ok(client)
        }
        (None, Some(assertion), AuthMethod::PrivateKeyJwt) => {
            check_assertion(ctx, &client, assertion).await?;
            Ok(client)
        }
        _ => Err(fail()),
    }
}

/// RFC 7523 §3: signed by a registered key, `iss` = `sub` = client, our audience, unexpired,
/// and a `jti` never seen before (kept until the assertion would expire).
async fn check_assertion(
    ctx: &AuthContext<'_>,
    client: &Client,
    assertion: &str,
) -> Result<(), Error> {
    let fail =
        |why: &str| Error::invalid_client(format!("client assertion rejected: {why}"), false);
    let jwks = client
        .jwks
        .as_deref()
        .ok_or_else(|| fail("no keys registered"))?;
    let payload = keys::verify_with_jwks(jwks, assertion).map_err(|_| fail("bad signature"))?;
    let claims: AssertionClaims =
        serde_json::from_slice(&payload).map_err(|_| fail("malformed claims"))?;
    if claims.iss != client.id || claims.sub != client.id {
        return Err(fail("iss and sub must be the client_id"));
    }
    if !claims.aud.contains_any(ctx.audiences) {
        return Err(fail("wrong audience"));
    }
    if claims.exp <= ctx.now {
        return Err(fail("expired"));
    }
    let ttl = Duration::from_secs((claims.exp - ctx.now + 60) as u64);
    let key = format!(
        "assertion-jti:{}:{}",
        client.id,
        crate::random::digest(&claims.jti)
    );
    if !ctx.store.put_if_absent(&key, b"1", ttl).await? {
        return Err(fail("replayed"));
    }
    Ok(())
}
