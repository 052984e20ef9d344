//! Token revocation (RFC 7009) and introspection (RFC 7662) of our own tokens.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::audit::{Audit, Event, Kind, Origin};
use crate::clients::Client;
use crate::clock::{SharedClock, UnixTime};
use crate::keys::KeyRing;
use crate::oauth::standing::Standing;
use crate::oauth::tokens::{self, AccessClaims};
use crate::oauth::{Error, refresh};
use crate::settings::Issuer;
use crate::store::{EphemeralStore, Store};

/// Revocation and introspection of the tokens we issued.
#[derive(Clone)]
pub struct Revocation {
    pub store: Store,
    pub keys: Arc<KeyRing>,
    pub issuer: Issuer,
    pub clock: SharedClock,
    /// How long a revoked family must stay known (the longest a refresh token can live).
    pub family_ttl: Duration,
    pub audit: Audit,
    /// Whether a token's client and user still stand (see [`Standing`]).
    pub standing: Standing,
}

/// What a presented token turned out to be.
enum Found {
    Refresh(refresh::RefreshGrant),
    Access(AccessClaims),
    Nothing,
}

/// The hint is honoured for lookup order only (RFC 7009 §2.1): both kinds are always tried.
async fn find(
    store: &dyn EphemeralStore,
    keys: &KeyRing,
    issuer: &Issuer,
    token: &str,
    hint: Option<&str>,
    now: UnixTime,
) -> Result<Found, Error> {
    let as_access = async {
        match tokens::verify_access(keys, issuer, store, token, now).await {
            Ok(claims) => Ok(Some(claims)),
            Err(Error::InvalidToken(_)) => Ok(None),
            Err(e) => Err(e),
        }
    };
    if hint == Some("access_token") {
        if let Some(claims) = as_access.await? {
            return Ok(Found::Access(claims));
        }
        return Ok(refresh::find(store, token)
            .await?
            .map_or(Found::Nothing, Found::Refresh));
    }
    if let Some(grant) = refresh::find(store, token).await? {
        return Ok(Found::Refresh(grant));
    }
    Ok(as_access.await?.map_or(Found::Nothing, Found::Access))
}

impl Revocation {
    fn store(&self) -> &dyn EphemeralStore {
        self.store.as_ref()
    }

    /// RFC 7009 §2: a client may revoke only its own tokens; unknown tokens are not an error.
    pub async fn revoke(
        &self,
        client: &Client,
        token: &str,
        hint: Option<&str>,
        origin: &Origin,
    ) -> Result<(), Error> {
        let now = self.clock.now();
        let store = self.store();
        let revoked = Event::new(Kind::TokenRevoked).client(client.id.as_str());
        match find(store, &self.keys, &self.issuer, token, hint, now).await? {
            Found::Refresh(grant) if grant.client_id == client.id => {
                refresh::revoke_family(store, &grant.family, self.family_ttl, now).await?;
                refresh::forget(store, token).await?;
                let revoked = revoked.user(&grant.user_id);
                self.audit
                    .record(origin, revoked.with("token_type", "refresh_token"));
            }
            Found::Access(claims) if claims.client_id == client.id => {
                tokens::revoke_access(store, &claims.jti, claims.exp, now).await?;
                let revoked = revoked.with("token_type", "access_token");
                self.audit.record(origin, revoked);
            }
            Found::Refresh(_) | Found::Access(_) => {
                return Err(Error::UnauthorizedClient(
                    "the token was issued to another client".into(),
                ));
            }
            Found::Nothing => {}
        }
        Ok(())
    }

    /// RFC 7662 §2.2: live tokens are described; anything else is just `{"active": false}`.
    /// Only confidential clients may ask: they are the protected resources (§2.1).
    pub async fn introspect(
        &self,
        client: &Client,
        token: &str,
        hint: Option<&str>,
    ) -> Result<Value, Error> {
        if client.is_public() {
            return Err(Error::invalid_client(
                "introspection requires a confidential client",
                false,
            ));
        }
        let now = self.clock.now();
        let store = self.store();
        let found = find(store, &self.keys, &self.issuer, token, hint, now).await?;
        if !may_see(client, &found) || !self.still_stands(&found).await? {
            return Ok(json!({"active": false}));
        }
        Ok(match found {
            Found::Access(c) => json!({
                "active": true, "scope": c.scope, "client_id": c.client_id, "sub": c.sub,
                "exp": c.exp, "iat": c.iat, "token_type": "Bearer", "aud": c.aud, "iss": c.iss,
                "jti": c.jti,
            }),
            Found::Refresh(g) if refresh::family_usable(store, &g.family).await? => json!({
                "active": true, "scope": g.scope.to_string(), "client_id": g.client_id,
                "sub": g.user_id, "exp": g.family_expires_at, "token_type": "refresh_token",
                "iss": self.issuer.as_str(),
            }),
            Found::Refresh(_) | Found::Nothing => json!({"active": false}),
        })
    }
}

impl Revocation {
    /// A token of a deleted client, or of a user since disabled or deleted, is inactive.
    async fn still_stands(&self, found: &Found) -> Result<bool, Error> {
        match found {
            Found::Access(c) => self.standing.holds(&c.client_id, &c.sub).await,
            Found::Refresh(g) => self.standing.holds(&g.client_id, &g.user_id).await,
            Found::Nothing => Ok(true),
        }
    }
}

/// RFC 7662 §4: a client sees tokens issued to it and tokens whose audience names it; a
/// client the operator marked `introspect_any` sees every token.
fn may_see(client: &Client, found: &Found) -> bool {
    client.introspect_any
        || match found {
            Found::Access(c) => c.client_id == client.id || c.aud.contains(&client.id),
            Found::Refresh(g) => g.client_id == client.id,
            Found::Nothing => true,
        }
}
