//! What every target shares: the bytes as the server decodes a form or a query, and what a
//! refusal may look like.
#![allow(dead_code)]

use gatehouse::oauth::Error;
use gatehouse::oauth::params::Params;

/// The bytes as `application/x-www-form-urlencoded` pairs, as `web::Form` decodes a body.
pub fn params(data: &[u8]) -> Params {
    Params::new(form_urlencoded::parse(data).into_owned().collect())
}

/// The bytes as a string, when they are one (a form value always is, after decoding).
pub fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// A parser's refusal is a client error of the spec, never one of ours (5xx), and its
/// description keeps to RFC 6749 §5.2's characters.
pub fn assert_spec_refusal(error: &Error) {
    assert!(
        !matches!(
            error,
            Error::Unexpected(_) | Error::TemporarilyUnavailable(_)
        ),
        "a parser failed with {error:?}"
    );
    let description = error.description();
    assert!(
        description
            .chars()
            .all(|c| matches!(c, ' '..='~') && c != '"' && c != '\\'),
        "description outside RFC 6749 §5.2: {description:?}"
    );
}
