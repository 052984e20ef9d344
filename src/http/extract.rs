//! Reading the wire: cookies, Basic credentials, the peer address, and setting cookies.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::oauth::Error;
use crate::settings::{CookieSameSite, CookieSecure, Settings};

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

/// A first-party cookie: HttpOnly, Secure on https issuers, SameSite from config.
pub fn cookie_for<'c>(
    settings: &Settings,
    name: &'c str,
    value: String,
    max_age_secs: i64,
) -> Cookie<'c> {
    let secure = match settings.sessions.cookie_secure {
        CookieSecure::Always => true,
        CookieSecure::Never => false,
        CookieSecure::Auto => settings.server.issuer.starts_with("https://"),
    };
    let same_site = match settings.sessions.cookie_same_site {
        CookieSameSite::Lax => SameSite::Lax,
        CookieSameSite::Strict => SameSite::Strict,
    };
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(same_site)
        .max_age(actix_web::cookie::time::Duration::seconds(max_age_secs))
        .finish()
}

/// The cookie that binds pending requests and forms to one browser (double-submit CSRF).
pub fn csrf_cookie_name(settings: &Settings) -> String {
    format!("{}_csrf", settings.sessions.cookie_name)
}

/// The value forms carry: derived from the browser cookie, useless without it.
pub fn csrf_form_value(browser: &str) -> String {
    crate::random::digest(&format!("csrf-form:{browser}"))
}

pub fn csrf_matches(browser: &str, presented: &str) -> bool {
    use subtle::ConstantTimeEq;
    csrf_form_value(browser)
        .as_bytes()
        .ct_eq(presented.as_bytes())
        .into()
}

/// The browser's binding value, and a cookie to set when the browser had none yet.
pub fn browser_binding(
    req: &HttpRequest,
    settings: &Settings,
) -> (String, Option<Cookie<'static>>) {
    let name = csrf_cookie_name(settings);
    match cookie(req, &name) {
        Some(existing) => (existing, None),
        None => {
            let value = crate::random::token();
            let set = cookie_for(settings, &name, value.clone(), 86400).into_owned();
            (value, Some(set))
        }
    }
}

/// A cookie that deletes `name` in the browser.
pub fn removal(settings: &Settings, name: &str) -> Cookie<'static> {
    cookie_for(settings, name, String::new(), 0).into_owned()
}
