//! The request id every response carries (`X-Request-Id`) and every log line of the
//! request names. A reverse proxy the operator trusts (`server.trusted_proxies`) may send
//! its own, so one id follows the request through both logs; from anyone else, or when it
//! is not a short run of safe characters, a fresh one (a v4 UUID) is used.

use actix_web::HttpMessage;
use actix_web::dev::ServiceRequest;
use actix_web::http::header::HeaderValue;
use actix_web::web;

use crate::proxies::TrustedProxies;

pub const HEADER: &str = "x-request-id";

/// The longest incoming id taken as it is.
const MAX_LEN: usize = 128;

/// An id a trusted proxy sent, kept in the request's extensions for the response.
#[derive(Debug, Clone)]
struct Forwarded(HeaderValue);

/// Picks the request's id and returns it for the span: the trusted proxy's, kept for the
/// response, or the one the tracing middleware generated (a v4 UUID, already there).
pub(super) fn assign(request: &ServiceRequest) -> String {
    if let Some(id) = trusted_incoming(request) {
        if let Ok(value) = HeaderValue::from_str(&id) {
            request.extensions_mut().insert(Forwarded(value));
        }
        return id;
    }
    let extensions = request.extensions();
    let generated = extensions.get::<tracing_actix_web::RequestId>();
    generated.map(|id| id.to_string()).unwrap_or_default()
}

/// The request's `X-Request-Id` value, as [`assign`] chose it.
pub fn header_value(request: &ServiceRequest) -> Option<HeaderValue> {
    let extensions = request.extensions();
    if let Some(Forwarded(value)) = extensions.get::<Forwarded>() {
        return Some(value.clone());
    }
    let generated = **extensions.get::<tracing_actix_web::RequestId>()?;
    let mut text = uuid::Uuid::encode_buffer();
    HeaderValue::from_str(generated.hyphenated().encode_lower(&mut text)).ok()
}

fn trusted_incoming(request: &ServiceRequest) -> Option<String> {
    let incoming = request.headers().get(HEADER)?.to_str().ok()?;
    if !acceptable(incoming) {
        return None;
    }
    let peer = request.peer_addr()?.ip();
    let proxies = request.app_data::<web::Data<TrustedProxies>>()?;
    proxies.trusts(peer).then(|| incoming.to_owned())
}

/// 1 to 128 characters that are safe in a header and a log line alike.
fn acceptable(id: &str) -> bool {
    (1..=MAX_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:+=/@".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::acceptable;

    #[test]
    fn only_short_plain_ids_are_taken() {
        assert!(acceptable("3f1c2a9e-0b7d-4a52-9f43-6a2b8d1e7c55"));
        assert!(acceptable("Root=1-5759e988-bd862e3fe1be46a994272793"));
        assert!(!acceptable(""));
        assert!(!acceptable(&"a".repeat(129)));
        assert!(!acceptable("id with spaces"));
        assert!(!acceptable("line\nbreak"));
        assert!(!acceptable("<script>"));
        assert!(!acceptable("ünïcode"));
    }
}
