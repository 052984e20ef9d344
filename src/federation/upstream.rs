//! The code flow to an upstream provider: RFC 6749 §4.1 with PKCE S256 (RFC 7636) and
//! `state`; for an OIDC provider also `nonce` and the ID token's verification (OIDC Core
//! §3.1.3.7: signature against its keys, `iss`, `aud`, `exp`, `nonce`), through the
//! `openidconnect` crate. A plain OAuth 2.0 provider's profile comes from its userinfo-style
//! endpoint, mapped by `claims` (see [`super::profile`]).

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreTokenResponse};
use openidconnect::{
    AccessToken, AuthType, AuthUrl, AuthorizationCode, ClaimsVerificationError, ClientId,
    ClientSecret, CsrfToken, IssuerUrl, JsonWebKeySet, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope,
    SignatureVerificationError, TokenUrl,
};
use secrecy::ExposeSecret;

use super::FederationError;
use super::profile::{self, Identity};
use super::provider::{Metadata, Provider};
use crate::clock::UnixTime;

/// What one round trip to the upstream sends and expects back.
pub struct Leg<'a> {
    pub redirect_uri: &'a str,
    pub state: &'a str,
    pub nonce: &'a str,
    pub verifier: &'a str,
}

/// Where to send the browser: the upstream's authorization endpoint with our request.
pub async fn authorization_url(
    provider: &Provider,
    http: &reqwest::Client,
    now: UnixTime,
    leg: &Leg<'_>,
) -> Result<url::Url, FederationError> {
    let verifier = PkceCodeVerifier::new(leg.verifier.to_owned());
    let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
    if !provider.is_oidc() {
        return plain_authorization_url(provider, leg, &challenge);
    }
    let metadata = provider.metadata(http, now).await?;
    let client = oidc_client(provider, metadata, leg.redirect_uri)?;
    let (state, nonce) = (leg.state.to_owned(), leg.nonce.to_owned());
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            move || CsrfToken::new(state),
            move || Nonce::new(nonce),
        )
        .set_pkce_challenge(challenge);
    // `openid` is always sent by the crate; the others as configured.
    for scope in provider.settings.scopes.iter().filter(|s| *s != "openid") {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    Ok(request.url().0)
}

fn plain_authorization_url(
    provider: &Provider,
    leg: &Leg<'_>,
    challenge: &PkceCodeChallenge,
) -> Result<url::Url, FederationError> {
    let settings = &provider.settings;
    let mut url = settings
        .authorization_endpoint
        .clone()
        .ok_or_else(unconfigured)?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &settings.client_id)
        .append_pair("redirect_uri", leg.redirect_uri)
        .append_pair("scope", &settings.scopes.join(" "))
        .append_pair("state", leg.state)
        .append_pair("code_challenge", challenge.as_str())
        .append_pair("code_challenge_method", "S256");
    Ok(url)
}

/// An `oauth2` provider without its endpoints: refused at start-up by
/// `FederationSettings::validate`, so never met; a 503 page rather than a panic if it were.
fn unconfigured() -> FederationError {
    FederationError::Service(anyhow::anyhow!("an oauth2 provider without its endpoints").into())
}

/// Redeems the upstream's code and returns who signed in there.
pub async fn redeem(
    provider: &Provider,
    http: &reqwest::Client,
    now: UnixTime,
    leg: &Leg<'_>,
    code: &str,
) -> Result<Identity, FederationError> {
    if !provider.is_oidc() {
        return redeem_plain(provider, http, leg, code).await;
    }
    let metadata = provider.metadata(http, now).await?;
    let client = oidc_client(provider, metadata.clone(), leg.redirect_uri)?;
    let tokens = exchange(&client, http, leg, code).await?;
    let Some(id_token) = openidconnect::TokenResponse::id_token(&tokens) else {
        return Err(FederationError::Rejected(
            "the token response has no ID token".into(),
        ));
    };
    let nonce = Nonce::new(leg.nonce.to_owned());
    let verified = {
        let verifier = verifier_for(&client, &metadata, now);
        id_token.claims(&verifier, &nonce).cloned()
    };
    let claims = match verified {
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        )) => {
            // A key rotated in upstream since we read its keys: read them once more.
            let metadata = provider.refresh_keys(http, now).await?;
            let client = oidc_client(provider, metadata.clone(), leg.redirect_uri)?;
            let verifier = verifier_for(&client, &metadata, now);
            id_token.claims(&verifier, &nonce).cloned()
        }
        other => other,
    }
    .map_err(|e| FederationError::Rejected(format!("the ID token: {e}")))?;
    let mut identity = profile::from_id_token(&claims);
    if identity.email.is_none() && metadata.userinfo_endpoint().is_some() {
        let userinfo = client
            .user_info(tokens.access_token().clone(), Some(claims.subject().clone()))
            .map_err(|e| FederationError::Rejected(format!("userinfo: {e}")))?
            .request_async::<openidconnect::EmptyAdditionalClaims, _, openidconnect::core::CoreGenderClaim>(http)
            .await
            .map_err(|e| FederationError::Rejected(format!("userinfo: {e}")))?;
        profile::add_userinfo(&mut identity, &userinfo);
    }
    Ok(identity)
}

type OidcClient = openidconnect::Client<
    openidconnect::EmptyAdditionalClaims,
    openidconnect::core::CoreAuthDisplay,
    openidconnect::core::CoreGenderClaim,
    openidconnect::core::CoreJweContentEncryptionAlgorithm,
    openidconnect::core::CoreJsonWebKey,
    openidconnect::core::CoreAuthPrompt,
    openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
    CoreTokenResponse,
    openidconnect::core::CoreTokenIntrospectionResponse,
    openidconnect::core::CoreRevocableToken,
    openidconnect::core::CoreRevocationErrorResponse,
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

fn oidc_client(
    provider: &Provider,
    metadata: Metadata,
    redirect_uri: &str,
) -> Result<OidcClient, FederationError> {
    let secret = provider
        .secret
        .as_ref()
        .map(|s| ClientSecret::new(s.expose_secret().to_owned()));
    // Basic unless the upstream takes the secret only in the body (RFC 6749 §2.3.1).
    let post_only = metadata
        .token_endpoint_auth_methods_supported()
        .is_some_and(|methods| {
            let names: Vec<&str> = methods.iter().map(|m| m.as_ref()).collect();
            names.contains(&"client_secret_post") && !names.contains(&"client_secret_basic")
        });
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(provider.settings.client_id.clone()),
        secret,
    )
    .set_redirect_uri(redirect(redirect_uri)?)
    .set_auth_type(if post_only {
        AuthType::RequestBody
    } else {
        AuthType::BasicAuth
    });
    Ok(client)
}

fn redirect(uri: &str) -> Result<RedirectUrl, FederationError> {
    RedirectUrl::new(uri.to_owned())
        .map_err(|e| FederationError::Service(anyhow::anyhow!("our callback URL: {e}").into()))
}

/// The verifier for ID tokens from this upstream: the algorithms it says it signs with,
/// and our clock (a test can move it).
fn verifier_for<'a>(
    client: &'a OidcClient,
    metadata: &Metadata,
    now: UnixTime,
) -> openidconnect::core::CoreIdTokenVerifier<'a> {
    let algs = metadata.id_token_signing_alg_values_supported().clone();
    let at = now.to_datetime();
    client
        .id_token_verifier()
        .set_allowed_algs(algs)
        .set_time_fn(move || at)
}

async fn exchange(
    client: &OidcClient,
    http: &reqwest::Client,
    leg: &Leg<'_>,
    code: &str,
) -> Result<CoreTokenResponse, FederationError> {
    let request = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|e| FederationError::Rejected(format!("no token endpoint: {e}")))?;
    request
        .set_pkce_verifier(PkceCodeVerifier::new(leg.verifier.to_owned()))
        .request_async(http)
        .await
        .map_err(token_error)
}

fn token_error<E: std::error::Error + 'static>(
    error: RequestTokenError<
        E,
        openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
    >,
) -> FederationError {
    match error {
        RequestTokenError::Request(e) => {
            tracing::warn!(error = %e, "upstream token endpoint unreachable");
            FederationError::Unreachable
        }
        RequestTokenError::ServerResponse(refused) => {
            FederationError::Rejected(format!("the token endpoint refused the code: {refused}"))
        }
        other => FederationError::Rejected(format!("the token response: {other}")),
    }
}

/// A plain OAuth 2.0 provider: the code for an access token, then its profile.
async fn redeem_plain(
    provider: &Provider,
    http: &reqwest::Client,
    leg: &Leg<'_>,
    code: &str,
) -> Result<Identity, FederationError> {
    let settings = &provider.settings;
    let (Some(auth), Some(token), Some(userinfo)) = (
        &settings.authorization_endpoint,
        &settings.token_endpoint,
        &settings.userinfo_endpoint,
    ) else {
        return Err(unconfigured());
    };
    let secret = provider
        .secret
        .as_ref()
        .map(|s| ClientSecret::new(s.expose_secret().to_owned()));
    // The issuer and keys are unused: no ID token is read from a plain OAuth 2.0 provider.
    let issuer = IssuerUrl::from_url(auth.clone());
    let mut client = openidconnect::core::CoreClient::new(
        ClientId::new(settings.client_id.clone()),
        issuer,
        JsonWebKeySet::new(Vec::new()),
    )
    .set_auth_uri(AuthUrl::from_url(auth.clone()))
    .set_token_uri(TokenUrl::from_url(token.clone()))
    .set_redirect_uri(redirect(leg.redirect_uri)?)
    .set_auth_type(AuthType::RequestBody);
    if let Some(secret) = secret {
        client = client.set_client_secret(secret);
    }
    let tokens = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .set_pkce_verifier(PkceCodeVerifier::new(leg.verifier.to_owned()))
        .request_async(http)
        .await
        .map_err(token_error)?;
    fetch_profile(http, userinfo, tokens.access_token(), &settings.claims).await
}

async fn fetch_profile(
    http: &reqwest::Client,
    userinfo: &url::Url,
    token: &AccessToken,
    claims: &crate::settings::ClaimMap,
) -> Result<Identity, FederationError> {
    let response = http
        .get(userinfo.clone())
        .bearer_auth(token.secret())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "upstream userinfo unreachable");
            FederationError::Unreachable
        })?;
    if !response.status().is_success() {
        return Err(FederationError::Rejected(format!(
            "the profile endpoint answered {}",
            response.status()
        )));
    }
    let body = response
        .bytes()
        .await
        .map_err(|_| FederationError::Unreachable)?;
    profile::from_json(&body, claims)
}
