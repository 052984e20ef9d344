//! The provider metadata document (OIDC Discovery 1.0 §3, RFC 8414 §2). It lists only
//! what Gatehouse really implements, so RPs never negotiate something that then fails.

use serde::Serialize;

use crate::keys::Alg;
use crate::oauth::acr;
use crate::paths;
use crate::settings::{Issuer, RegistrationMode};

/// Client authentication methods; `none` last, since introspection excludes it.
const AUTH_METHODS: [&str; 4] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "none",
];
/// Algorithms accepted for `private_key_jwt` assertions.
const ASSERTION_ALGS: [&str; 2] = ["RS256", "ES256"];

pub const SCOPES: [&str; 5] = ["openid", "profile", "email", "roles", "offline_access"];

#[derive(Debug, Serialize)]
pub struct ProviderMetadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    userinfo_endpoint: String,
    jwks_uri: String,
    end_session_endpoint: String,
    revocation_endpoint: String,
    introspection_endpoint: String,
    scopes_supported: Vec<&'static str>,
    response_types_supported: Vec<&'static str>,
    response_modes_supported: Vec<&'static str>,
    grant_types_supported: Vec<&'static str>,
    subject_types_supported: Vec<&'static str>,
    /// RS256 first: OIDC Discovery §3 requires it, and some RPs take the first value.
    id_token_signing_alg_values_supported: Vec<&'static str>,
    /// OIDC Discovery §3: a client may ask for signed userinfo answers.
    userinfo_signing_alg_values_supported: Vec<&'static str>,
    token_endpoint_auth_methods_supported: Vec<&'static str>,
    token_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    revocation_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    /// Introspection is for protected resources, which hold a secret: no `none`.
    introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    introspection_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    code_challenge_methods_supported: Vec<&'static str>,
    claims_supported: Vec<&'static str>,
    prompt_values_supported: Vec<&'static str>,
    /// Back-Channel Logout 1.0 §2.1: logout tokens carry `sid`.
    backchannel_logout_supported: bool,
    backchannel_logout_session_supported: bool,
    /// RFC 9207 §3.
    authorization_response_iss_parameter_supported: bool,
    claims_parameter_supported: bool,
    acr_values_supported: Vec<&'static str>,
    request_parameter_supported: bool,
    /// Defaults to true in OIDC Discovery §3, so it must be said explicitly.
    request_uri_parameter_supported: bool,
    /// RFC 7591 §3 / RFC 8414 §2: present only while registration is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    registration_endpoint: Option<String>,
}

impl ProviderMetadata {
    pub fn new(issuer: &Issuer) -> Self {
        Self {
            issuer: issuer.as_str().to_owned(),
            authorization_endpoint: issuer.endpoint(paths::AUTHORIZE),
            token_endpoint: issuer.endpoint(paths::TOKEN),
            userinfo_endpoint: issuer.endpoint(paths::USERINFO),
            jwks_uri: issuer.endpoint(paths::JWKS),
            end_session_endpoint: issuer.endpoint(paths::LOGOUT),
            revocation_endpoint: issuer.endpoint(paths::REVOKE),
            introspection_endpoint: issuer.endpoint(paths::INTROSPECT),
            scopes_supported: SCOPES.to_vec(),
            response_types_supported: vec!["code"],
            response_modes_supported: vec!["query", "form_post"],
            grant_types_supported: vec![
                "authorization_code",
                "refresh_token",
                "client_credentials",
            ],
            subject_types_supported: vec!["public"],
            id_token_signing_alg_values_supported: vec!["RS256"],
            userinfo_signing_alg_values_supported: vec!["RS256"],
            token_endpoint_auth_methods_supported: AUTH_METHODS.to_vec(),
            token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGS.to_vec(),
            revocation_endpoint_auth_methods_supported: AUTH_METHODS.to_vec(),
            revocation_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGS.to_vec(),
            introspection_endpoint_auth_methods_supported: AUTH_METHODS[..3].to_vec(),
            introspection_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGS.to_vec(),
            code_challenge_methods_supported: vec!["S256"],
            claims_supported: vec![
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "at_hash",
                "azp",
                "sid",
                "amr",
                "acr",
                "name",
                "preferred_username",
                "updated_at",
                "email",
                "email_verified",
                "roles",
            ],
            prompt_values_supported: vec!["none", "login", "consent"],
            acr_values_supported: acr::SUPPORTED.to_vec(),
            backchannel_logout_supported: true,
            backchannel_logout_session_supported: true,
            authorization_response_iss_parameter_supported: true,
            claims_parameter_supported: false,
            request_parameter_supported: false,
            request_uri_parameter_supported: false,
            registration_endpoint: None,
        }
    }

    /// The algorithms the server has keys for (`keys.algorithms`).
    pub fn with_algorithms(mut self, algorithms: &[Alg]) -> Self {
        let names: Vec<&'static str> = algorithms.iter().map(|a| a.as_str()).collect();
        self.id_token_signing_alg_values_supported = names.clone();
        self.userinfo_signing_alg_values_supported = names;
        self
    }

    /// Advertises the registration endpoint unless `mode` is off.
    /// With upstream providers configured, ID tokens may carry `idp` (see `federation`).
    pub fn with_federation(mut self, providers: usize) -> Self {
        if providers > 0 {
            self.claims_supported.push("idp");
        }
        self
    }

    pub fn with_registration(mut self, mode: RegistrationMode) -> Self {
        if mode != RegistrationMode::Off {
            self.registration_endpoint = Some(self.issuer_endpoint(paths::CLIENT_REGISTRATION));
        }
        self
    }

    fn issuer_endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer.trim_end_matches('/'))
    }

    pub fn to_json(&self) -> anyhow::Result<DiscoveryJson> {
        Ok(DiscoveryJson(serde_json::to_string(self)?))
    }
}

/// The serialized metadata, built once at start.
pub struct DiscoveryJson(pub String);
