//! Reading the wire: cookies, Basic credentials, bearer tokens, the peer.

use actix_web::HttpRequest;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::oauth::Error;

/// `Authorization: Basic` with RFC 6749 §2.3.1's form-encoding of id and secret.
/// `Ok(None)` when no Basic header was sent; malformed headers are `invalid_client`.
pub fn basic_credentials(req: &HttpRequest) -> Result<Option<(String, String)>, Error> {
    let Some(header) = req.headers().get("authorization") else {
        return Ok(None);
    };
    let malformed = || Error::invalid_client("malformed Basic credentials", true);
    let value = header.to_str().map_err(|_| malformed())?;
    let Some(encoded) = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
    else {
        return Ok(None);
    };
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((unescape(id), unescape(secret))))
}

/// The bearer token of RFC 6750 §2.1, if sent.
pub fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get("authorization")?.to_str().ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?;
    Some(token.trim().to_owned()).filter(|t| !t.is_empty())
}

pub fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.cookie(name)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

pub fn user_agent(req: &HttpRequest) -> String {
    req.headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown")
        .to_owned()
}

pub fn peer_ip(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default()
}

/// The value forms carry: derived from the browser cookie, useless without it.
pub fn csrf_form_value(binding: &str) -> String {
    crate::random::digest(&format!("csrf-form:{binding}"))
}

/// Constant-time comparison of a posted CSRF value with this browser's.
pub fn csrf_matches(binding: &str, presented: &str) -> bool {
    use subtle::ConstantTimeEq;
    csrf_form_value(binding)
        .as_bytes()
        .ct_eq(presented.as_bytes())
        .into()
}
