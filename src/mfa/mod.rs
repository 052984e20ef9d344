//! Second factors: TOTP (RFC 6238) and one-time recovery codes. What is here so far are the
//! rules — codes, their matching, replay refusal across instances — on which enrolment, the
//! login step and the account page build.

pub mod recovery;
pub mod replay;
pub mod totp;
