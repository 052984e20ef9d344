//! OpenID Connect: discovery metadata, logout (RP-initiated and back-channel).

pub mod backchannel;
pub mod discovery;
pub mod logout;
