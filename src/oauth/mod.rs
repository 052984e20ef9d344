//! OAuth 2.0 rules: errors, the authorization request and its sign-in pipeline, consent,
//! client authentication, the token request and its grants, PKCE, scopes, tokens.

pub mod acr;
pub mod authorize;
pub mod client_auth;
pub mod code;
pub mod consent;
pub mod error;
pub mod grants;
pub mod params;
pub mod pkce;
pub mod redirect;
pub mod refresh;
pub mod resource;
pub mod revocation;
pub mod rotation;
pub mod scope;
pub mod standing;
pub mod token_request;
pub mod tokens;

pub use error::Error;
pub use scope::Scopes;
