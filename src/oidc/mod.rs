//! OpenID Connect: discovery metadata (and, as they arrive, id_tokens and userinfo claims).

pub mod discovery;
