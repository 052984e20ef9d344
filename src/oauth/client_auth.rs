//! Client authentication (RFC 6749 §2.3, RFC 7523 §2.2, OIDC Core §9): exactly one method
//! per request, and only the methods registered for the client.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::DatabaseConnection;
use serde::Deserialize;

use crate::audit::{Audit, Event, Kind, Origin};
use crate::clients::{AuthMethod, Client, ClientCache, ClientId};
use crate::clock::SharedClock;
use crate::keys;
use crate::limits::Throttle;
use crate::oauth::Error;
use crate::oauth::authorize::Params;
use crate::paths;
use crate::settings::Issuer;
use crate::store::Store;

pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// What the request presented: exactly one method (§2.3), or none for a public client.
#[derive(Debug)]
pub enum Presented {
    /// A public client identifying itself (`client_id` in the body).
    None { client_id: ClientId },
    /// RFC 6749 §2.3.1, `Authorization: Basic`.
    SecretBasic { client_id: ClientId, secret: String },
    /// RFC 6749 §2.3.1, in the body.
    SecretPost { client_id: ClientId, secret: String },
    /// RFC 7523 §2.2; `client_id` is the assertion's (unverified) subject.
    PrivateKeyJwt {
        client_id: ClientId,
        assertion: String,
    },
}

impl Presented {
    pub fn client_id(&self) -> &ClientId {
        match self {
            Self::None { client_id }
            | Self::SecretBasic { client_id, .. }
            | Self::SecretPost { client_id, .. }
            | Self::PrivateKeyJwt { client_id, .. } => client_id,
        }
    }

    pub fn method(&self) -> AuthMethod {
        match self {
            Self::None { .. } => AuthMethod::None,
            Self::SecretBasic { .. } => AuthMethod::ClientSecretBasic,
            Self::SecretPost { .. } => AuthMethod::ClientSecretPost,
            Self::PrivateKeyJwt { .. } => AuthMethod::PrivateKeyJwt,
        }
    }
}

/// Which method the request used. `basic` is the decoded `Authorization: Basic` pair, if the
/// header was sent; two methods at once are refused (§2.3).
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
    if let Some((assertion, subject)) = assertion {
        if body_id.is_some_and(|b| b != subject) {
            return Err(Error::invalid_client(
                "client_id differs from the assertion's subject",
                false,
            ));
        }
        let client_id = client_id(Some(&subject), "malformed client assertion", false)?;
        return Ok(Presented::PrivateKeyJwt {
            client_id,
            assertion,
        });
    }
    match (basic, body_secret) {
        (Some((id, secret)), _) => {
            if body_id.is_some_and(|b| b != id) {
                return Err(Error::invalid_request(
                    "client_id differs from the authenticated client",
                ));
            }
            let client_id = client_id(Some(&id), "malformed Basic credentials", true)?;
            Ok(Presented::SecretBasic { client_id, secret })
        }
        (None, Some(secret)) => Ok(Presented::SecretPost {
            client_id: client_id(body_id, "client_id is missing", false)?,
            secret: secret.to_owned(),
        }),
        (None, None) => Ok(Presented::None {
            client_id: client_id(body_id, "client authentication is missing", false)?,
        }),
    }
}

fn client_id(raw: Option<&str>, missing: &str, basic: bool) -> Result<ClientId, Error> {
    raw.and_then(ClientId::parse)
        .ok_or_else(|| Error::invalid_client(missing, basic))
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
    /// One value: an array could name us beside a party that forwards the assertion (the
    /// audience-injection class, draft-ietf-oauth-rfc7523bis).
    aud: serde_json::Value,
    exp: i64,
    iat: Option<i64>,
    jti: String,
}

/// How far in the future `iat` may be, for clocks that disagree a little.
const CLOCK_LEEWAY_SECS: i64 = 60;

fn unverified_claims(jwt: &str) -> Option<AssertionClaims> {
    let payload = jwt.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

/// Client authentication for every endpoint that needs it (token, revocation, introspection).
#[derive(Clone)]
pub struct ClientAuthenticator {
    pub db: DatabaseConnection,
    pub clients: Arc<ClientCache>,
    pub store: Store,
    pub issuer: Issuer,
    pub clock: SharedClock,
    /// The longest an assertion may live (`exp` − now).
    pub max_assertion_lifetime: Duration,
    pub throttle: Throttle,
    pub audit: Audit,
}

impl ClientAuthenticator {
    /// Looks up the client and checks the presented credentials (secrets in constant time).
    pub async fn authenticate(
        &self,
        presented: Presented,
        origin: &Origin,
    ) -> Result<Client, Error> {
        self.throttle.token_request(origin)?;
        let basic = matches!(presented, Presented::SecretBasic { .. });
        // An unknown client costs nothing to refuse, and spends no budget.
        let client = self
            .clients
            .get(&self.db, presented.client_id().as_str())
            .await?
            .ok_or_else(|| Error::invalid_client("client authentication failed", basic))?;
        match self.verify(client, presented, basic).await {
            Ok(client) => Ok(client),
            Err((error, client_id)) => {
                let failed = Event::new(Kind::ClientAuthFailed).client(client_id);
                self.audit.record(origin, failed);
                self.throttle.token_failed(origin).await?;
                Err(error)
            }
        }
    }

    /// Whether `presented` proves `client`; on failure, the error and the client's id.
    async fn verify(
        &self,
        client: Client,
        presented: Presented,
        basic: bool,
    ) -> Result<Client, (Error, String)> {
        let fail = || Error::invalid_client("client authentication failed", basic);
        if !client.allows_auth_method(presented.method()) {
            return Err((fail(), client.id.to_string()));
        }
        let checked = match presented {
            Presented::None { .. } if client.is_public() => Ok(()),
            Presented::SecretBasic { secret, .. } | Presented::SecretPost { secret, .. }
                if client.secret_matches(&secret, self.clock.now()) =>
            {
                Ok(())
            }
            Presented::PrivateKeyJwt { assertion, .. } => {
                self.check_assertion(&client, &assertion).await
            }
            _ => Err(fail()),
        };
        match checked {
            Ok(()) => Ok(client),
            Err(error) => Err((error, client.id.to_string())),
        }
    }

    /// The issuer identifier or the token endpoint's URL, as the single `aud` value.
    fn is_our_audience(&self, aud: &serde_json::Value) -> bool {
        aud.as_str().is_some_and(|aud| {
            aud == self.issuer.as_str() || aud == self.issuer.endpoint(paths::TOKEN)
        })
    }
    /// RFC 7523 §3: signed by a registered key, `iss` = `sub` = client, our audience, `exp`
    /// within the allowed lifetime, `iat` not in the future, and a `jti` never seen before
    /// (kept until the assertion would expire).
    async fn check_assertion(&self, client: &Client, assertion: &str) -> Result<(), Error> {
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
        if !self.is_our_audience(&claims.aud) {
            return Err(fail("wrong audience"));
        }
        let remaining = self.remaining_lifetime(&claims).map_err(fail)?;
        let key = format!(
            "assertion-jti:{}:{}",
            client.id,
            crate::random::digest(&claims.jti)
        );
        // Remembered a minute past its expiry, for clocks that disagree.
        let ttl = remaining + Duration::from_secs(CLOCK_LEEWAY_SECS as u64);
        if !self.store.put_if_absent(&key, b"1", ttl).await? {
            return Err(fail("replayed"));
        }
        Ok(())
    }

    /// How long the assertion has left; it must be unexpired, not issued in the future,
    /// and expire within the configured lifetime.
    fn remaining_lifetime(&self, claims: &AssertionClaims) -> Result<Duration, &'static str> {
        let now = self.clock.now().secs();
        let remaining = claims.exp.checked_sub(now).ok_or("malformed exp")?;
        if remaining <= 0 {
            return Err("expired");
        }
        let remaining = Duration::from_secs(remaining as u64);
        if remaining > self.max_assertion_lifetime {
            return Err("exp is too far in the future");
        }
        if claims
            .iat
            .is_some_and(|iat| iat > now.saturating_add(CLOCK_LEEWAY_SECS))
        {
            return Err("iat is in the future");
        }
        Ok(remaining)
    }
}

#[cfg(test)]
#[path = "client_auth_tests.rs"]
mod tests;
