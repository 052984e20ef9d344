//! Second factors: TOTP (RFC 6238) and one-time recovery codes — the codes, their matching,
//! replay refusal across instances, their storage, and the enrolment capability. The login
//! step and the account page build on [`Factors`].

pub mod factors;
pub mod recovery;
pub mod replay;
pub mod store;
pub mod totp;

pub use factors::{Enrolled, Factors, Passed};
