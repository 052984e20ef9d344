//! OpenID Connect: discovery metadata, the OP's browser sessions and the sign-in steps that
//! start them, the user's own account, UserInfo claims, and logout (RP-initiated and
//! back-channel).

pub mod account;
pub mod backchannel;
pub mod discovery;
pub mod logout;
pub mod session;
pub mod signin;
pub mod userinfo;
