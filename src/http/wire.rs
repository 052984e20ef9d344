//! Reading the wire: cookies, Basic credentials, bearer tokens, the peer.

use actix_web::HttpRequest;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::oauth::Error;
use crate::proxies::TrustedProxies;

/// `Authorization: Basic` with RFC 6749 §2.3.1's form-encoding of id and secret.
/// `Ok(None)` when no Basic header was sent; malformed headers are `invalid_client`.
pub fn basic_credentials(req: &HttpRequest) -> Result<Option<(String, String)>, Error> {
    let Some(header) = req.headers().get("authorization") else {
        return Ok(None);
    };
    // RFC 9110 §5.3: Authorization is not a list; two of them make the request malformed,
    // and neither may be picked over the other.
    if req.headers().get_all("authorization").nth(1).is_some() {
        return Err(Error::invalid_request(
            "the Authorization header is repeated",
        ));
    }
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
    // Each is application/x-www-form-urlencoded (§2.3.1): `+` is a space, `%XX` a byte. A
    // raw `&` or `=` a client failed to encode is kept, not taken for a separator.
    let unescape = |s: &str| {
        let spaced = s.replace('+', " ");
        percent_encoding::percent_decode_str(&spaced)
            .decode_utf8()
            .map(|v| v.into_owned())
            .map_err(|_| malformed())
    };
    Ok(Some((unescape(id)?, unescape(secret)?)))
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

/// The client's address: the peer, or behind a trusted proxy what it forwarded.
pub fn client_ip(req: &HttpRequest, proxies: &TrustedProxies) -> String {
    let joined = |name: &str| {
        let lines: Vec<&str> = req
            .headers()
            .get_all(name)
            .filter_map(|v| v.to_str().ok())
            .collect();
        (!lines.is_empty()).then(|| lines.join(","))
    };
    let peer = req.peer_addr().map(|a| a.ip());
    let forwarded = joined("forwarded");
    let x_forwarded_for = joined("x-forwarded-for");
    proxies
        .client_ip(peer, forwarded.as_deref(), x_forwarded_for.as_deref())
        .map(|ip| ip.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn basic(pair: &str) -> Result<Option<(String, String)>, Error> {
        let value = format!("Basic {}", STANDARD.encode(pair));
        basic_credentials(
            &TestRequest::default()
                .insert_header(("authorization", value))
                .to_http_request(),
        )
    }

    #[test]
    fn basic_credentials_are_form_decoded_whole() {
        let pair = |id: &str, secret: &str| Some((id.to_owned(), secret.to_owned()));
        assert_eq!(basic("my%20app:a+b%2Bc").unwrap(), pair("my app", "a b+c"));
        assert_eq!(basic("app:s&e=cret").unwrap(), pair("app", "s&e=cret"));
        assert!(basic("app:%ff%fe").is_err(), "not UTF-8");
        assert!(basic("no-colon").is_err());
    }
}
