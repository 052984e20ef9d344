//! OAuth 2.0 rules: errors, and (as they arrive) authorize requests, grants, PKCE, scopes.

pub mod error;

pub use error::Error;
