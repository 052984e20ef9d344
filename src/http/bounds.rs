//! What every request is held to before a handler runs: body sizes, malformed bodies and
//! queries as `invalid_request` (never actix's plain-text 400, never a 5xx), and the
//! security headers every response carries. Header sizes are actix-http's: a request head
//! over 32 KiB is answered 431, and a client that is slow to send it gets 408 after 5 s.

use actix_web::middleware::DefaultHeaders;
use actix_web::web;

/// The largest form body: a token request with a signed client assertion fits many times
/// over; a sign-in form is a few hundred bytes.
pub const FORM_LIMIT: usize = 16 * 1024;
/// Any other body an endpoint reads whole.
pub const PAYLOAD_LIMIT: usize = 64 * 1024;

/// Malformed form bodies become `invalid_request` instead of actix's plain-text 400.
pub fn forms() -> web::FormConfig {
    web::FormConfig::default()
        .limit(FORM_LIMIT)
        .error_handler(|err, _| {
            crate::oauth::Error::invalid_request(format!("malformed form body: {err}")).into()
        })
}

pub fn queries() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| {
        crate::oauth::Error::invalid_request(format!("malformed query: {err}")).into()
    })
}

/// Added to every response that does not set its own.
pub fn security_headers(hsts: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "no-referrer"))
        .add((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ));
    if hsts {
        headers.add((
            "Strict-Transport-Security",
            "max-age=63072000; includeSubDomains",
        ))
    } else {
        headers
    }
}

/// Bodies read as bytes (none today but the JSON the admin API will take).
pub fn payloads() -> web::PayloadConfig {
    web::PayloadConfig::new(PAYLOAD_LIMIT)
}
