//! OAuth 2.0 rules: errors, the authorization request, grants, PKCE, scopes, tokens.

pub mod authorize;
pub mod client_auth;
pub mod code;
pub mod error;
pub mod grants;
pub mod pkce;
pub mod refresh;
pub mod revocation;
pub mod scope;
pub mod tokens;

pub use error::Error;
pub use scope::Scopes;
