//! Token endpoint grants, one file each, sharing what minting needs.

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;

use crate::accounts::{self, UserStatus};
use crate::audit::{Audit, Event, Kind, Origin};
use crate::clients::{Client, GrantType};
use crate::clock::{SharedClock, UnixTime};
use crate::keys::KeyRing;
use crate::limits::Throttle;
use crate::metrics::{ClientType, Metrics};
use crate::oauth::resource::Resources;
use crate::oauth::token_request::TokenRequest;
use crate::oauth::tokens::{AccessSubject, IdClaims, Minter, TokenResponse, at_hash};
use crate::oauth::{Error, Scopes, acr, refresh};
use crate::random;
use crate::settings::{Issuer, TokenSettings};
use crate::store::{EphemeralStore, Store, Write};

/// The token endpoint's grants, and what every grant works with.
#[derive(Clone)]
pub struct Grants {
    pub db: DatabaseConnection,
    pub users: UserStatus,
    pub store: Store,
    pub keys: Arc<KeyRing>,
    pub issuer: Issuer,
    pub settings: TokenSettings,
    pub clock: SharedClock,
    /// How long a refresh claim holds before another presenter may take it over: longer
    /// than a rotation takes once claimed (signing and one store write).
    pub claim_lease: Duration,
    pub audit: Audit,
    pub throttle: Throttle,
    pub metrics: Metrics,
}

/// What the audit log says of an issued token.
struct Granted<'a> {
    grant: crate::metrics::Grant,
    scope: &'a str,
    user_id: Option<&'a str>,
}

/// A user's authorization, as carried by a code or a refresh token.
pub struct UserGrant<'a> {
    pub user_id: &'a str,
    /// What the access token (and this response) carry.
    pub scope: &'a Scopes,
    /// What a refresh token carries: RFC 6749 §6 keeps it identical across rotations even
    /// when one refresh asks for a narrower access token.
    pub family_scope: &'a Scopes,
    pub auth_time: i64,
    pub sid: &'a str,
    pub amr: &'a [String],
    /// The upstream provider the user signed in at, if any.
    pub idp: Option<&'a str>,
    pub nonce: Option<&'a str>,
    /// What the access token is for (RFC 8707)...
    pub resources: &'a Resources,
    /// ...and what the refresh token keeps, like `family_scope`.
    pub family_resources: &'a Resources,
}

/// The ids minted tokens will carry, chosen before minting so markers can name them.
pub struct TokenIds {
    pub jti: String,
    pub family: String,
    pub family_expires_at: i64,
    /// A code exchange opens the family; a refresh continues it, and what indexes the
    /// family alone (not its tokens) is already written.
    pub new_family: bool,
    /// The family's hash tag, which its refresh tokens carry (see `refresh::new_tag`).
    pub tag: String,
}

impl Grants {
    /// Answers an authenticated client's token request (RFC 6749 §5.1) with the response
    /// body: serialised once, since a refresh seals the same bytes for its retries.
    pub async fn issue(
        &self,
        client: &Client,
        request: TokenRequest,
        origin: &Origin,
    ) -> Result<Vec<u8>, Error> {
        self.throttle.client_request(origin, &client.id).await?;
        match self.grant(client, request, origin).await {
            // A bad code or refresh token spends the address's failures (guessing them is
            // hopeless, but a flood of them is still work).
            Err(error @ Error::InvalidGrant(_)) => {
                self.throttle.token_failed(origin).await?;
                Err(error)
            }
            other => other,
        }
    }

    async fn grant(
        &self,
        client: &Client,
        request: TokenRequest,
        origin: &Origin,
    ) -> Result<Vec<u8>, Error> {
        let grant = request.grant_type();
        if !client.allows_grant(grant) {
            return Err(Error::UnauthorizedClient(format!(
                "client may not use {}",
                grant.as_str()
            )));
        }
        let now = self.clock.now();
        match request {
            TokenRequest::AuthorizationCode(r) => {
                let at = (now, origin);
                json(&authorization_code::exchange(self, client, &r, at).await?)
            }
            TokenRequest::RefreshToken(r) => {
                refresh_token::refresh(self, client, &r, (now, origin)).await
            }
            TokenRequest::ClientCredentials(r) => {
                let response = client_credentials::grant(self, client, &r, now).await?;
                let granted = Granted {
                    grant: crate::metrics::Grant::ClientCredentials,
                    scope: &response.scope,
                    user_id: None,
                };
                self.issued(origin, Kind::TokenIssued, client, granted);
                json(&response)
            }
        }
    }

    /// A token was issued: which grant, to whom, with what scope (never the token).
    fn issued(&self, origin: &Origin, kind: Kind, client: &Client, grant: Granted<'_>) {
        let client_type = match client.is_public() {
            true => ClientType::Public,
            false => ClientType::Confidential,
        };
        self.metrics.token_issued(grant.grant, client_type);
        let mut event = Event::new(kind)
            .client(client.id.as_str())
            .with("grant_type", grant.grant.as_str())
            .with("scope", grant.scope);
        if let Some(user_id) = grant.user_id {
            event = event.user(user_id);
        }
        self.audit.record(origin, event);
    }

    fn store(&self) -> &dyn EphemeralStore {
        self.store.as_ref()
    }

    pub(crate) fn minter(&self) -> Minter<'_> {
        Minter {
            keys: &self.keys,
            issuer: &self.issuer,
            settings: &self.settings,
        }
    }

    pub(crate) fn access_ttl(&self, client: &Client) -> i64 {
        client
            .access_token_ttl_secs
            .unwrap_or(self.settings.access_token_ttl_secs)
    }

    fn refresh_idle_ttl(&self, client: &Client) -> i64 {
        client
            .refresh_token_idle_ttl_secs
            .unwrap_or(self.settings.refresh_token_idle_ttl_secs)
    }

    pub fn refresh_max_ttl(&self, client: &Client) -> i64 {
        client
            .refresh_token_max_ttl_secs
            .unwrap_or(self.settings.refresh_token_max_ttl_secs)
    }

    /// The user must still exist and be enabled for anything to be issued.
    async fn active_user(&self, user_id: &str) -> Result<(), Error> {
        if self.users.is_active(&self.db, user_id).await? {
            Ok(())
        } else {
            Err(Error::invalid_grant("the user is no longer active"))
        }
    }

    /// Mints the access token, the id_token (for `openid`) and a refresh token (for
    /// `offline_access`, when the client may refresh) in the given family. Returns the
    /// store writes that make it real, for the caller to apply in one batch.
    async fn mint(
        &self,
        client: &Client,
        grant: &UserGrant<'_>,
        ids: &TokenIds,
        at: UnixTime,
    ) -> Result<(TokenResponse, Vec<Write>), Error> {
        self.active_user(grant.user_id).await?;
        let roles = match grant.scope.contains("roles") {
            true => Some(accounts::store::roles_of(&self.db, grant.user_id).await?),
            false => None,
        };
        let ttl = self.access_ttl(client);
        let subject = AccessSubject {
            sub: grant.user_id,
            client_id: &client.id,
            scope: grant.scope,
            resources: grant.resources,
            auth_time: Some(grant.auth_time),
            sid: Some(grant.sid),
            ttl,
            roles: roles.as_deref(),
            alg: client.access_token_alg,
        };
        let (access_token, _) = self.minter().access_token(&subject, &ids.jti, at.secs())?;
        let id_token = match grant.scope.contains("openid") {
            true => Some(self.id_token(client, grant, (&access_token, roles.as_deref()), at)?),
            false => None,
        };
        let mut writes = Vec::new();
        let refresh_token = if grant.family_scope.contains("offline_access")
            && client.allows_grant(GrantType::RefreshToken)
        {
            Some(self.refresh_token(client, grant, ids, at, &mut writes)?)
        } else {
            None
        };
        let response = TokenResponse {
            access_token,
            token_type: "Bearer".to_owned(),
            expires_in: ttl,
            refresh_token,
            id_token,
            scope: grant.scope.to_string(),
        };
        Ok((response, writes))
    }

    /// OIDC Core §2 and §3.1.3.6, bound to the access token by `at_hash`.
    fn id_token(
        &self,
        client: &Client,
        grant: &UserGrant<'_>,
        (access_token, roles): (&str, Option<&[String]>),
        at: UnixTime,
    ) -> anyhow::Result<String> {
        let now = at.secs();
        let claims = IdClaims {
            iss: self.issuer.as_str(),
            sub: grant.user_id,
            aud: &client.id,
            azp: &client.id,
            exp: now + self.settings.id_token_ttl_secs,
            iat: now,
            auth_time: grant.auth_time,
            nonce: grant.nonce,
            at_hash: at_hash(access_token, client.id_token_alg),
            sid: grant.sid,
            amr: grant.amr,
            acr: acr::achieved(grant.amr),
            idp: grant.idp,
            roles,
        };
        self.minter().id_token(&claims, client.id_token_alg)
    }

    /// A new refresh token in the family, with the writes that store it, open the family
    /// (if new) and index it under the session (so ending the session revokes it) and under
    /// the user (so a password change or a consent taken back revokes it after the session).
    fn refresh_token(
        &self,
        client: &Client,
        grant: &UserGrant<'_>,
        ids: &TokenIds,
        at: UnixTime,
        writes: &mut Vec<Write>,
    ) -> anyhow::Result<String> {
        let record = refresh::RefreshGrant {
            family: ids.family.clone(),
            client_id: client.id.clone(),
            user_id: grant.user_id.to_owned(),
            sid: grant.sid.to_owned(),
            scope: grant.family_scope.clone(),
            auth_time: grant.auth_time,
            amr: grant.amr.to_vec(),
            idp: grant.idp.map(str::to_owned),
            family_expires_at: ids.family_expires_at,
            resources: grant.family_resources.clone(),
        };
        let idle = (ids.tag.as_str(), self.refresh_idle_ttl(client));
        let (token, write) = refresh::new_token(&record, idle, at)?;
        // Indexes first (see `EphemeralStore::batch`), the token last.
        writes.push(refresh::start_family(
            &ids.family,
            ids.family_expires_at,
            at,
        )?);
        let access_expires_at = at.secs() + self.access_ttl(client);
        writes.push(refresh::record_access_token(
            &ids.family,
            &ids.jti,
            access_expires_at,
            at,
        ));
        let index_ttl = seconds(ids.family_expires_at - at.secs());
        writes.push(crate::sessions::record_family(
            grant.sid,
            &ids.family,
            index_ttl,
        ));
        if ids.new_family {
            writes.push(refresh::record_user_family(&record, at));
        }
        writes.push(write);
        Ok(token)
    }
}

pub fn new_ids(family_expires_at: i64) -> TokenIds {
    TokenIds {
        jti: random::token(),
        family: random::token(),
        family_expires_at,
        new_family: true,
        tag: refresh::new_tag(),
    }
}

pub fn seconds(n: i64) -> Duration {
    Duration::from_secs(n.max(1) as u64)
}

fn json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value).map_err(|e| Error::Unexpected(e.into()))
}
