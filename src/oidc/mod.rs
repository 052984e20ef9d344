//! OpenID Connect: discovery metadata, the OP's browser sessions and the sign-in steps that
//! start them (password, second factor), the user's own account, UserInfo claims, and
//! logout (RP-initiated and back-channel).

pub mod account;
pub mod account_factors;
pub mod backchannel;
pub mod challenge;
pub mod discovery;
mod ended;
pub mod logout;
pub mod method;
pub mod second_factor;
pub mod session;
pub mod signin;
pub mod upstream_signin;
pub mod userinfo;
