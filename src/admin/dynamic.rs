//! Dynamic client registration (RFC 7591) and its management (RFC 7592): relying parties
//! register themselves at the registration endpoint, and read, replace or delete their
//! registration with the registration access token it returned. Nothing is decided here
//! that the admin service does not decide for an operator: the same redirect URI, grant
//! and scope rules apply (`admin::clients`). What is added is RFC 7591's defaults, its
//! error codes, and the tokens.
//!
//! The registration access token is stored only as its SHA-256, so it cannot be shown
//! again: every read and every update answers with a new one and the one presented stops
//! working (RFC 7592 §3 lets the server rotate it; Keycloak does the same).

use serde::Deserialize;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use super::clients::NewClient;
use super::registration::{algs_of, grant_type, metadata_of};
use super::{Admin, AdminError};
use crate::audit::{Event, Kind, Origin};
use crate::clients::{self, ApplicationType, Client, GrantType, store};
use crate::limits::Throttle;
use crate::oauth::Error;
use crate::paths;
use crate::settings::{Issuer, RegistrationMode};

/// The registration endpoint's capability.
#[derive(Clone)]
pub struct Registrar {
    pub admin: Admin,
    pub mode: RegistrationMode,
    pub issuer: Issuer,
    /// `limits.registration_per_ip`: registering is open to strangers.
    pub throttle: Throttle,
}

/// RFC 7591 §2 metadata as a relying party sends it. Members we do not know are ignored
/// (§2: the server "MUST ignore any client metadata sent by the client that it does not
/// understand"), unlike the admin API, where a misspelt field is an operator's mistake.
#[derive(Debug, Default, Deserialize)]
pub struct Requested {
    pub client_name: Option<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Option<Vec<String>>,
    pub response_types: Option<Vec<String>>,
    pub scope: Option<String>,
    pub token_endpoint_auth_method: Option<String>,
    pub application_type: Option<String>,
    pub jwks: Option<Value>,
    pub jwks_uri: Option<String>,
    pub id_token_signed_response_alg: Option<String>,
    pub userinfo_signed_response_alg: Option<String>,
    pub access_token_signed_response_alg: Option<String>,
    /// RFC 7592 §2.2: an update names the client it replaces...
    pub client_id: Option<String>,
    /// ...and may carry its secret, which must then be the current one.
    pub client_secret: Option<String>,
}

impl Registrar {
    /// Whether registration is on at all (the endpoint and its discovery entry exist).
    pub fn is_on(&self) -> bool {
        self.mode != RegistrationMode::Off
    }

    /// RFC 7591 §3: registers the client the JSON `body` describes; in `initial_token` mode only
    /// with a live initial access token, whose use is spent once the metadata is valid.
    pub async fn register(
        &self,
        origin: &Origin,
        initial_token: Option<&str>,
        body: &[u8],
    ) -> Result<Value, Error> {
        self.throttle.client_registration(origin).await?;
        let admin = self.admin.acting_for(origin.clone(), "registration");
        let token = self.authorised(&admin, initial_token).await?;
        let requested = parse(body)?;
        let token_for_client = crate::random::token();
        let mut new = new_client(requested)?;
        new.registration_token_sha256 = Some(clients::digest(&token_for_client));
        admin.check_registration(&new).map_err(rfc_error)?;
        if let Some(token) = token {
            if !admin
                .take_initial_token(token, admin.clock.now())
                .await
                .map_err(rfc_error)?
            {
                return Err(Error::InvalidToken(
                    "the initial access token is spent".into(),
                ));
            }
        }
        let created = admin.create_client(new).await.map_err(rfc_error)?;
        let via = if token.is_some() {
            "initial_token"
        } else {
            "open"
        };
        let event = Event::new(Kind::ClientRegistered).client(created.client.id.as_str());
        admin
            .audited(event.with("via", via))
            .await
            .map_err(rfc_error)?;
        let mut shown = self.information(&created.client, &token_for_client);
        shown["client_id_issued_at"] = json!(admin.clock.now().secs());
        if let Some(secret) = created.secret {
            shown["client_secret"] = json!(secret);
            shown["client_secret_expires_at"] = json!(0);
        }
        Ok(shown)
    }

    /// RFC 7592 §2.1: the registration, with a new registration access token.
    pub async fn read(&self, client_id: &str, token: Option<&str>) -> Result<Value, Error> {
        let client = self.registered(client_id, token).await?;
        let next = self.rotate_token(&client, token).await?;
        Ok(self.information(&client, &next))
    }

    /// RFC 7592 §2.2: replaces the registration with the `body`'s (omitted values take
    /// their defaults, as at registration); the type and authentication cannot change.
    pub async fn update(
        &self,
        origin: &Origin,
        (client_id, token): (&str, Option<&str>),
        body: &[u8],
    ) -> Result<Value, Error> {
        let client = self.registered(client_id, token).await?;
        let requested = parse(body)?;
        if requested.client_id.as_deref() != Some(client_id) {
            return Err(metadata("client_id must be the registered client's"));
        }
        let now = self.admin.clock.now();
        if let Some(secret) = &requested.client_secret {
            if !client.secret_matches(secret, now) {
                return Err(metadata("client_secret is not the client's"));
            }
        }
        let admin = self.admin.acting_for(origin.clone(), "registration");
        let new = new_client(requested)?;
        let (updated, _) = admin
            .update_client(client_id, new, Some("*"))
            .await
            .map_err(rfc_error)?;
        let next = self.rotate_token(&updated, token).await?;
        Ok(self.information(&updated, &next))
    }

    /// RFC 7592 §2.3: deletes the registration; its tokens stop working with it.
    pub async fn delete(
        &self,
        origin: &Origin,
        client_id: &str,
        token: Option<&str>,
    ) -> Result<(), Error> {
        self.registered(client_id, token).await?;
        let admin = self.admin.acting_for(origin.clone(), "registration");
        admin.delete_client(client_id).await.map_err(rfc_error)
    }

    /// In `initial_token` mode, the token presented, if it can still register a client.
    async fn authorised<'a>(
        &self,
        admin: &Admin,
        initial_token: Option<&'a str>,
    ) -> Result<Option<&'a str>, Error> {
        match (self.mode, initial_token) {
            (RegistrationMode::Off, _) => Err(Error::AccessDenied("registration is off".into())),
            (RegistrationMode::Open, _) => Ok(None),
            (RegistrationMode::InitialToken, None) => Err(Error::MissingToken),
            (RegistrationMode::InitialToken, Some(token)) => {
                if admin.initial_token_usable(token).await.map_err(rfc_error)? {
                    Ok(Some(token))
                } else {
                    Err(Error::InvalidToken(
                        "the initial access token is unknown, expired or spent".into(),
                    ))
                }
            }
        }
    }

    /// The self-registered client `client_id` if `token` is its registration access token;
    /// RFC 7592 §2: otherwise 401, whether or not such a client exists.
    async fn registered(&self, client_id: &str, token: Option<&str>) -> Result<Client, Error> {
        let token = token.ok_or(Error::MissingToken)?;
        let refused = || Error::InvalidToken("the registration access token is not valid".into());
        let client = self.admin.client(client_id).await.map_err(|_| refused())?;
        let presented = clients::digest(token);
        let matches = client
            .registration_token_sha256
            .is_some_and(|stored| bool::from(presented.ct_eq(&stored)));
        if matches { Ok(client) } else { Err(refused()) }
    }

    /// Replaces the client's registration access token, if it is still `was`.
    async fn rotate_token(&self, client: &Client, was: Option<&str>) -> Result<String, Error> {
        let was = clients::digest(was.unwrap_or_default());
        let next = crate::random::token();
        let db = &self.admin.db;
        if !store::replace_registration_token(db, &client.id, &was, &clients::digest(&next)).await?
        {
            return Err(Error::InvalidToken(
                "the registration access token was just used".into(),
            ));
        }
        Ok(next)
    }

    /// RFC 7591 §3.2.1 / RFC 7592 §3: the metadata, the token and where to use it.
    fn information(&self, client: &Client, token: &str) -> Value {
        let mut shown = metadata_of(client);
        if let Some(object) = shown.as_object_mut() {
            object.remove("first_party");
        }
        let code = client.allows_grant(GrantType::AuthorizationCode);
        shown["response_types"] = json!(if code { vec!["code"] } else { vec![] });
        if let Some(jwks) = client.jwks.as_deref() {
            shown["jwks"] = serde_json::from_str(jwks).unwrap_or(Value::Null);
        }
        let uri = format!("{}/{}", paths::CLIENT_REGISTRATION, client.id);
        shown["registration_client_uri"] = json!(self.issuer.endpoint(&uri));
        shown["registration_access_token"] = json!(token);
        shown
    }
}

/// The registration RFC 7591 §2's defaults make of `requested`: the code grant, the code
/// response type, `client_secret_basic`, a web application, and `openid profile email`
/// (with `offline_access` when it may refresh).
fn new_client(requested: Requested) -> Result<NewClient, Error> {
    let grants = match &requested.grant_types {
        None => vec![GrantType::AuthorizationCode],
        Some(names) => names
            .iter()
            .map(|name| grant_type("grant_types", name))
            .collect::<Result<Vec<_>, _>>()
            .map_err(rfc_error)?,
    };
    check_response_types(requested.response_types.as_deref(), &grants)?;
    let (public, jwks) = auth_method(&requested)?;
    let application_type = match requested.application_type.as_deref() {
        None => ApplicationType::Web,
        Some(name) => ApplicationType::parse(name)
            .ok_or_else(|| metadata(format!("application_type {name:?} is not web or native")))?,
    };
    let scopes = match &requested.scope {
        Some(scope) => scope.split_ascii_whitespace().map(str::to_owned).collect(),
        None => default_scopes(&grants),
    };
    let algs = algs_of(
        requested.id_token_signed_response_alg.as_deref(),
        requested.userinfo_signed_response_alg.as_deref(),
        requested.access_token_signed_response_alg.as_deref(),
    )
    .map_err(rfc_error)?;
    let name = requested
        .client_name
        .unwrap_or_else(|| "Self-registered client".to_owned());
    Ok(NewClient {
        redirect_uris: requested.redirect_uris,
        post_logout_redirect_uris: requested.post_logout_redirect_uris,
        grant_types: grants,
        scopes,
        public,
        application_type,
        jwks,
        algs,
        ..NewClient::named(&name)
    })
}

fn default_scopes(grants: &[GrantType]) -> Vec<String> {
    let mut scopes = vec!["openid", "profile", "email"];
    if grants.contains(&GrantType::RefreshToken) {
        scopes.push("offline_access");
    }
    scopes.into_iter().map(str::to_owned).collect()
}

/// RFC 7591 §2.1: `code` is the only response type, and it goes with the code grant.
fn check_response_types(types: Option<&[String]>, grants: &[GrantType]) -> Result<(), Error> {
    let Some(types) = types else {
        return Ok(());
    };
    if let Some(other) = types.iter().find(|t| t.as_str() != "code") {
        return Err(metadata(format!(
            "response_types {other:?} is not supported: only code"
        )));
    }
    let code_grant = grants.contains(&GrantType::AuthorizationCode);
    if code_grant != types.iter().any(|t| t == "code") {
        return Err(metadata(
            "response_types code and grant_types authorization_code go together",
        ));
    }
    Ok(())
}

/// Public (`none`), a secret (`client_secret_basic`/`_post`), or keys (`private_key_jwt`
/// with `jwks` by value: fetching `jwks_uri` would have us call any address it names).
fn auth_method(requested: &Requested) -> Result<(bool, Option<String>), Error> {
    if requested.jwks_uri.is_some() {
        return Err(metadata("jwks_uri is not supported: send jwks by value"));
    }
    match requested.token_endpoint_auth_method.as_deref() {
        None | Some("client_secret_basic" | "client_secret_post") => Ok((false, None)),
        Some("none") => Ok((true, None)),
        Some("private_key_jwt") => match &requested.jwks {
            Some(jwks) => Ok((false, Some(jwks.to_string()))),
            None => Err(metadata("private_key_jwt needs jwks")),
        },
        Some(other) => Err(metadata(format!(
            "token_endpoint_auth_method {other:?} is not supported"
        ))),
    }
}

/// The request body as metadata: a JSON object (RFC 7591 §3.1).
fn parse(body: &[u8]) -> Result<Requested, Error> {
    serde_json::from_slice(body)
        .map_err(|e| metadata(format!("the body is not client metadata: {e}")))
}

fn metadata(description: impl Into<String>) -> Error {
    Error::InvalidClientMetadata(description.into())
}

/// The admin service's refusal as RFC 7591 §3.2.2 words it.
fn rfc_error(error: AdminError) -> Error {
    match error {
        AdminError::Invalid { field, message } => {
            let description = format!("{field}: {message}");
            match field {
                "redirect_uris" | "post_logout_redirect_uris" => {
                    Error::InvalidRedirectUri(description)
                }
                _ => Error::InvalidClientMetadata(description),
            }
        }
        AdminError::NotFound { .. } => {
            Error::InvalidToken("the registration access token is not valid".into())
        }
        AdminError::Conflict(message) => Error::InvalidClientMetadata(message),
        AdminError::VersionRequired | AdminError::VersionChanged => {
            Error::InvalidToken("the registration changed meanwhile: read it again".into())
        }
        AdminError::Service(error) => error,
        AdminError::Unexpected(error) => Error::Unexpected(error),
    }
}
