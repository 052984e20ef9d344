//! Parsing and validating an authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1).
//! Until the client and redirect URI are known, errors go to a page, never to a redirect
//! (RFC 6749 §4.1.2.1); after that, to the client with `state` and `iss`.

use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};

use crate::clients::{Client, ClientCache, ClientId, GrantType};
pub use crate::oauth::params::Params;
use crate::oauth::resource::Resources;
use crate::oauth::{Error, Scopes, acr, pkce, redirect};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseMode {
    Query,
    FormPost,
}

/// Where an answer to the client goes, once the redirect URI is trusted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReplyTo {
    pub redirect_uri: String,
    pub state: Option<String>,
    pub response_mode: ResponseMode,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// A validated request, kept server-side across the login and consent pages.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub reply: ReplyTo,
    /// RFC 6749 §4.1.3: if sent here, the token request must repeat it.
    pub redirect_uri_given: bool,
    pub scope: Scopes,
    pub nonce: Option<String>,
    pub pkce: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// RFC 8707: the resources the tokens are for.
    #[serde(default)]
    pub resources: Resources,
    /// OIDC Core §3.1.2.1: the authentication levels asked for, in order of preference.
    #[serde(default)]
    pub acr_values: Vec<String>,
    /// A second factor must be part of the sign-in: every listed level needs one, or the
    /// client requires it (see [`acr::requires_mfa`]).
    #[serde(default)]
    pub mfa_required: bool,
    /// Ours (like Keycloak's `kc_idp_hint`): the upstream provider to sign in with, skipping
    /// the chooser when it names one we know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_hint: Option<String>,
}

#[derive(Debug)]
pub enum Rejection {
    /// Client or redirect URI not trusted: show an error page.
    Page(Error),
    /// Report to the client's redirect URI.
    Redirect(ReplyTo, Error),
}

pub async fn validate(
    db: &DatabaseConnection,
    cache: &ClientCache,
    params: &Params,
) -> Result<(AuthorizationRequest, Client), Rejection> {
    let client = trusted_client(db, cache, params).await?;
    let request = validate_for(&client, params)?;
    Ok((request, client))
}

/// Everything after the client is known: its redirect URI first (errors before that go to
/// a page), then the rest (errors go to the client).
pub fn validate_for(client: &Client, params: &Params) -> Result<AuthorizationRequest, Rejection> {
    let (redirect_uri, redirect_uri_given) = trusted_redirect(client, params)?;
    let response_mode = match params.get("response_mode") {
        None | Some("query") => Ok(ResponseMode::Query),
        Some("form_post") => Ok(ResponseMode::FormPost),
        Some(_) => Err("unsupported response_mode"),
    };
    let state = params.get("state");
    let reply = ReplyTo {
        redirect_uri,
        // An overlong state is refused, and not echoed back.
        state: state.filter(|s| s.len() <= MAX_STATE).map(str::to_owned),
        response_mode: response_mode.unwrap_or(ResponseMode::Query),
    };
    let reject = |e: Error| Rejection::Redirect(reply.clone(), e);
    if let Err(message) = response_mode {
        return Err(reject(Error::invalid_request(message)));
    }
    check_lengths(params).map_err(reject)?;
    if let Some(name) = params.first_duplicate() {
        return Err(reject(Error::invalid_request(format!(
            "parameter {name} is repeated"
        ))));
    }
    check_request(params, client).map_err(reject)?;
    Ok(AuthorizationRequest {
        client_id: client.id.clone(),
        redirect_uri_given,
        scope: requested_scope(params, client).map_err(reject)?,
        nonce: params.get("nonce").map(str::to_owned),
        pkce: pkce::challenge(
            client.require_pkce || client.is_public() || client.is_native(),
            client.allow_plain_pkce,
            params.get("code_challenge_method"),
            params.get("code_challenge"),
        )
        .map_err(reject)?,
        prompt: prompt(params).map_err(reject)?,
        max_age: max_age(params).map_err(reject)?,
        login_hint: params.get("login_hint").map(str::to_owned),
        resources: Resources::parse(params.all("resource"))
            .and_then(|r| r.allowed_for(&client.allowed_resources))
            .map_err(reject)?,
        acr_values: acr::parse(params.get("acr_values")),
        mfa_required: acr::requires_mfa(&acr::parse(params.get("acr_values")), client.require_mfa),
        idp_hint: params.get("idp_hint").map(str::to_owned),
        reply: reply.clone(),
    })
}

async fn trusted_client(
    db: &DatabaseConnection,
    cache: &ClientCache,
    params: &Params,
) -> Result<Client, Rejection> {
    if params.is_duplicated("client_id") {
        return Err(Rejection::Page(Error::invalid_request(
            "client_id is repeated",
        )));
    }
    let id = params
        .get("client_id")
        .ok_or_else(|| Rejection::Page(Error::invalid_request("client_id is missing")))?;
    if ClientId::parse(id).is_none() {
        return Err(Rejection::Page(Error::invalid_request(
            "client_id is malformed",
        )));
    }
    match cache.get(db, id).await {
        Ok(Some(client)) => Ok(client),
        Ok(None) => Err(Rejection::Page(Error::invalid_request("unknown client_id"))),
        Err(e) => Err(Rejection::Page(e.into())),
    }
}

/// Exact string comparison only (RFC 9700 §4.1.1); omission only with one registered URI.
fn trusted_redirect(client: &Client, params: &Params) -> Result<(String, bool), Rejection> {
    if params.is_duplicated("redirect_uri") {
        return Err(Rejection::Page(Error::invalid_request(
            "redirect_uri is repeated",
        )));
    }
    match params.get("redirect_uri") {
        Some(uri) if redirect::matches(client.application_type, &client.redirect_uris, uri) => {
            Ok((uri.to_owned(), true))
        }
        Some(_) => Err(Rejection::Page(Error::invalid_request(
            "redirect_uri does not match any URI registered for this client",
        ))),
        None if client.redirect_uris.len() == 1 => Ok((client.redirect_uris[0].clone(), false)),
        None => Err(Rejection::Page(Error::invalid_request(
            "redirect_uri is required",
        ))),
    }
}

/// Bounds on what a pending request keeps, so a stranger cannot fill the store: `state` may
/// carry a signed value (2 KiB), `nonce` 512 bytes, `login_hint` an email's 320; the PKCE
/// challenge is bounded by its own format (RFC 7636 §4.2).
pub(super) const MAX_STATE: usize = 2048;
const LIMITS: [(&str, usize); 4] = [
    ("state", MAX_STATE),
    ("nonce", 512),
    ("login_hint", 320),
    ("idp_hint", 64),
];

fn check_lengths(params: &Params) -> Result<(), Error> {
    for (name, max) in LIMITS {
        if params.get(name).is_some_and(|v| v.len() > max) {
            return Err(Error::invalid_request(format!(
                "{name} is longer than {max} bytes"
            )));
        }
    }
    Ok(())
}

fn check_request(params: &Params, client: &Client) -> Result<(), Error> {
    match params.get("response_type") {
        None => return Err(Error::invalid_request("response_type is missing")),
        Some("code") => {}
        Some(_) => {
            return Err(Error::UnsupportedResponseType(
                "only response_type=code is supported".into(),
            ));
        }
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(Error::UnauthorizedClient(
            "client may not use the authorization code flow".into(),
        ));
    }
    if params.get("request").is_some() {
        return Err(Error::RequestNotSupported(
            "request objects are not supported".into(),
        ));
    }
    if params.get("request_uri").is_some() {
        return Err(Error::RequestUriNotSupported(
            "request_uri is not supported".into(),
        ));
    }
    Ok(())
}

fn requested_scope(params: &Params, client: &Client) -> Result<Scopes, Error> {
    let scope = Scopes::parse(
        params
            .get("scope")
            .ok_or_else(|| Error::invalid_request("scope is missing"))?,
    )?;
    if scope.is_empty() {
        return Err(Error::invalid_request("scope is missing"));
    }
    if !scope.within(&client.scopes) {
        return Err(Error::InvalidScope(
            "scope includes values this client may not request".into(),
        ));
    }
    Ok(scope)
}

/// OIDC Core §3.1.2.1: `none` must stand alone.
fn prompt(params: &Params) -> Result<Prompt, Error> {
    let mut prompt = Prompt::default();
    for value in params
        .get("prompt")
        .unwrap_or_default()
        .split(' ')
        .filter(|v| !v.is_empty())
    {
        match value {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            "select_account" => {}
            _ => {
                return Err(Error::invalid_request(format!(
                    "unsupported prompt value {value}"
                )));
            }
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return Err(Error::invalid_request(
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok(prompt)
}

fn max_age(params: &Params) -> Result<Option<i64>, Error> {
    params
        .get("max_age")
        .map(|v| v.parse::<i64>().ok().filter(|n| *n >= 0))
        .map(|parsed| {
            parsed.ok_or_else(|| Error::invalid_request("max_age must be a non-negative integer"))
        })
        .transpose()
}
