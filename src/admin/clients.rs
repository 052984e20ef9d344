//! Registering and managing clients. A new registration is checked once, here: its redirect
//! URIs by the OAuth 2.1 rules (`oauth::redirect::check_registration`), its grants against
//! its type (a public client has no secret, so no client credentials; a code client needs a
//! redirect URI). A confidential client's secret (256 random bits) is returned once and
//! stored only as its SHA-256 digest.

use super::{Admin, AdminError};
use crate::audit::{Event, Kind};
use std::time::Duration;

use super::client_rules::check;
use crate::clients::{
    self, ApplicationType, AuthMethod, Client, ClientType, GrantType, PreviousSecret, store,
};
use crate::keys::Alg;

/// The scopes a new client may ask for unless told otherwise.
pub const DEFAULT_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];
/// The longest client name kept.
pub(super) const MAX_NAME: usize = 100;
/// The most redirect URIs of one kind a client may register.
pub(super) const MAX_URIS: usize = 50;
/// The longest a rotated secret may keep working.
const MAX_OVERLAP: Duration = Duration::from_secs(30 * 86_400);

/// A registration as an operator asks for it (RFC 7591 field names in the API).
#[derive(Debug, Clone)]
pub struct NewClient {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    /// No secret (a SPA or a native app): PKCE then stands in for client authentication.
    pub public: bool,
    /// One of the operator's own applications: no consent screen.
    pub first_party: bool,
    pub application_type: ApplicationType,
    /// A JWK Set: the client authenticates with `private_key_jwt` (RFC 7523) signed by one
    /// of these keys, and gets no secret.
    pub jwks: Option<String>,
    /// Set for a self-registered client (RFC 7591): its registration access token's digest.
    pub registration_token_sha256: Option<[u8; 32]>,
    pub algs: ClientAlgs,
}

/// What a client's tokens are signed with (OIDC Registration §2); each must be among
/// `keys.algorithms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAlgs {
    /// `id_token_signed_response_alg`; logout tokens follow it.
    pub id_token: Alg,
    /// `userinfo_signed_response_alg`: signed userinfo answers when set.
    pub userinfo: Option<Alg>,
    /// `access_token_signed_response_alg` (ours: RFC 9068 leaves it to the server).
    pub access_token: Alg,
}

impl Default for ClientAlgs {
    /// RS256, what every relying party must accept (OIDC Core §15.1), and plain userinfo.
    fn default() -> Self {
        Self {
            id_token: Alg::Rs256,
            userinfo: None,
            access_token: Alg::Rs256,
        }
    }
}

impl ClientAlgs {
    pub fn of(client: &Client) -> Self {
        Self {
            id_token: client.id_token_alg,
            userinfo: client.userinfo_alg,
            access_token: client.access_token_alg,
        }
    }
}

impl NewClient {
    /// The usual registration: the code grant with refresh tokens, the default scopes.
    pub fn named(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            scopes: DEFAULT_SCOPES.map(str::to_owned).to_vec(),
            public: false,
            first_party: false,
            application_type: ApplicationType::Web,
            jwks: None,
            registration_token_sha256: None,
            algs: ClientAlgs::default(),
        }
    }

    /// Whether the client gets a generated secret: confidential, without keys of its own.
    fn takes_secret(&self) -> bool {
        !self.public && self.jwks.is_none()
    }
}

/// A registered client, with its secret for the one time it is shown.
#[derive(Debug, Clone)]
pub struct Created {
    pub client: Client,
    pub secret: Option<String>,
}

impl Admin {
    /// The rules a registration keeps ([`check`]), and algorithms the server has keys for.
    pub fn check_registration(&self, new: &NewClient) -> Result<(), AdminError> {
        check(new)?;
        let algs = &new.algs;
        let wanted = [
            ("id_token_signed_response_alg", Some(algs.id_token)),
            ("userinfo_signed_response_alg", algs.userinfo),
            ("access_token_signed_response_alg", Some(algs.access_token)),
        ];
        for (field, alg) in wanted {
            if let Some(alg) = alg.filter(|a| !self.algorithms.contains(a)) {
                return Err(AdminError::invalid(
                    field,
                    format!("{alg} is not among the server's keys.algorithms"),
                ));
            }
        }
        Ok(())
    }

    /// Registers a client under a new random id.
    pub async fn create_client(&self, new: NewClient) -> Result<Created, AdminError> {
        self.check_registration(&new)?;
        let secret = new.takes_secret().then(clients::generate_secret);
        let client = registration(&new, secret.as_deref());
        store::insert_if_absent(&self.db, &client, self.clock.now()).await?;
        let event = Event::new(Kind::ClientCreated)
            .client(client.id.as_str())
            .with("client_type", client.client_type.as_str())
            .with("grant_types", grant_names(&client.grant_types));
        self.audited(event).await?;
        Ok(Created { client, secret })
    }

    /// Every client, by name.
    pub async fn clients(&self) -> Result<Vec<Client>, AdminError> {
        Ok(store::all(&self.db).await?)
    }

    pub async fn client(&self, id: &str) -> Result<Client, AdminError> {
        store::find(&self.db, id)
            .await?
            .ok_or_else(|| not_found(id))
    }

    /// The client and its `ETag` (its version, quoted).
    pub async fn client_versioned(&self, id: &str) -> Result<(Client, String), AdminError> {
        let (client, version) = store::find_versioned(&self.db, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        Ok((client, etag(version)))
    }

    /// Replaces the client's registration (not its type or secret) if `if_match` is the
    /// version it has now; returns it with its new `ETag`.
    pub async fn update_client(
        &self,
        id: &str,
        new: NewClient,
        if_match: Option<&str>,
    ) -> Result<(Client, String), AdminError> {
        let (current, version) = store::find_versioned(&self.db, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        match if_match {
            None => return Err(AdminError::VersionRequired),
            Some(tag) if tag != etag(version) && tag != "*" => {
                return Err(AdminError::VersionChanged);
            }
            Some(_) => {}
        }
        self.check_registration(&new)?;
        let had_keys = current.allows_auth_method(AuthMethod::PrivateKeyJwt);
        if new.public != current.is_public() || new.jwks.is_some() != had_keys {
            return Err(AdminError::invalid(
                "token_endpoint_auth_method",
                "a client's authentication cannot change: register a new client",
            ));
        }
        let updated = Client {
            name: new.name.trim().to_owned(),
            redirect_uris: new.redirect_uris,
            post_logout_redirect_uris: new.post_logout_redirect_uris,
            grant_types: new.grant_types,
            scopes: new.scopes,
            require_consent: !new.first_party,
            application_type: new.application_type,
            jwks: new.jwks.or(current.jwks.clone()),
            id_token_alg: new.algs.id_token,
            userinfo_alg: new.algs.userinfo,
            access_token_alg: new.algs.access_token,
            ..current
        };
        if !store::update(&self.db, &updated, version, self.clock.now()).await? {
            return Err(AdminError::VersionChanged);
        }
        self.audited(Event::new(Kind::ClientUpdated).client(id))
            .await?;
        Ok((updated, etag(version + 1)))
    }

    /// Deletes the client and the consents given to it. Its tokens stop working at once:
    /// a refresh needs the client, and introspection and userinfo report its access tokens
    /// inactive (`oauth::standing`); only a resource server that checks our JWTs itself,
    /// without asking, keeps accepting them until they expire (`tokens.access_token_ttl_secs`).
    pub async fn delete_client(&self, id: &str) -> Result<(), AdminError> {
        if !store::delete(&self.db, id).await? {
            return Err(not_found(id));
        }
        self.audited(Event::new(Kind::ClientDeleted).client(id))
            .await
    }

    /// A new secret for a confidential client, shown once. The old one keeps working for
    /// `overlap` (the configured default when `None`; zero ends it at once, after a leak),
    /// so deployments can move to the new secret without an outage; a secret older than
    /// that is forgotten now, whatever its overlap.
    pub async fn rotate_client_secret(
        &self,
        id: &str,
        overlap: Option<Duration>,
    ) -> Result<Rotated, AdminError> {
        let overlap = overlap.unwrap_or(self.secret_overlap);
        if overlap > MAX_OVERLAP {
            return Err(AdminError::invalid(
                "overlap_secs",
                format!("at most {} (30 days)", MAX_OVERLAP.as_secs()),
            ));
        }
        let client = self.client(id).await?;
        let Some(current) = client.secret_sha256.filter(|_| !client.is_public()) else {
            return Err(AdminError::invalid(
                "client",
                format!("{id} is public: it has no secret"),
            ));
        };
        let now = self.clock.now();
        let previous = (!overlap.is_zero()).then(|| PreviousSecret {
            sha256: current,
            expires_at: now.secs().saturating_add(overlap.as_secs() as i64),
        });
        let secret = clients::generate_secret();
        let digest = clients::digest(&secret);
        if !store::set_secret(&self.db, id, &digest, previous, now).await? {
            return Err(not_found(id));
        }
        let event = Event::new(Kind::ClientSecretRotated)
            .client(id)
            .with("overlap_secs", overlap.as_secs());
        self.audited(event).await?;
        Ok(Rotated {
            secret,
            previous_expires_at: previous.map(|p| p.expires_at),
        })
    }
}

/// A rotation's outcome: the new secret (shown once) and until when the old one works.
#[derive(Debug, Clone)]
pub struct Rotated {
    pub secret: String,
    /// Unix seconds; `None` when the old secret stopped working at once.
    pub previous_expires_at: Option<i64>,
}

/// An `ETag` (RFC 9110 §8.8.3) for a client's version.
fn etag(version: i64) -> String {
    format!("\"v{version}\"")
}

fn not_found(id: &str) -> AdminError {
    AdminError::NotFound {
        what: "client",
        id: id.to_owned(),
    }
}

fn grant_names(grants: &[GrantType]) -> String {
    let names: Vec<&str> = grants.iter().map(|g| g.as_str()).collect();
    names.join(" ")
}

/// The stored form of a checked registration.
fn registration(new: &NewClient, secret: Option<&str>) -> Client {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let base = Client::public(&id, new.name.trim(), new.redirect_uris.clone());
    let (client_type, auth_methods) = match (secret, &new.jwks) {
        (Some(_), _) => (
            ClientType::Confidential,
            vec![AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost],
        ),
        (None, Some(_)) => (ClientType::Confidential, vec![AuthMethod::PrivateKeyJwt]),
        (None, None) => (ClientType::Public, vec![AuthMethod::None]),
    };
    Client {
        client_type,
        secret_sha256: secret.map(clients::digest),
        auth_methods,
        post_logout_redirect_uris: new.post_logout_redirect_uris.clone(),
        grant_types: new.grant_types.clone(),
        scopes: new.scopes.clone(),
        require_consent: !new.first_party,
        application_type: new.application_type,
        jwks: new.jwks.clone(),
        registration_token_sha256: new.registration_token_sha256,
        id_token_alg: new.algs.id_token,
        userinfo_alg: new.algs.userinfo,
        access_token_alg: new.algs.access_token,
        ..base
    }
}
