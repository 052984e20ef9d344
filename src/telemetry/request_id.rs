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

/// The id chosen for a request, in its extensions for the response to carry.
#[derive(Debug, Clone)]
pub struct RequestId(pub HeaderValue);

/// Picks the request's id (stored in its extensions) and returns it for the span.
pub(super) fn assign(request: &ServiceRequest) -> String {
    let id = trusted_incoming(request).unwrap_or_else(|| {
        request
            .extensions()
            .get::<tracing_actix_web::RequestId>()
            .map(|generated| generated.to_string())
            .unwrap_or_default()
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        request.extensions_mut().insert(RequestId(value));
    }
    id
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
