//! What every response carries and what every request counts: the `X-Request-Id` header
//! (chosen in `telemetry::request_id`), and `http_requests_total` with
//! `http_request_duration_seconds` by route pattern — never the raw path, whose values are
//! the client's to choose; a request no route matched counts as `unmatched`. Also the
//! metrics listener's one route.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse, web};

use crate::metrics::{CONTENT_TYPE, Exposition, Metrics, method_label};
use crate::paths;
use crate::telemetry::{self, Stopwatch, request_id};

/// Routes whose series exist from start-up, at zero, because alerts and the dashboard
/// name them: the protocol endpoints, with the status of their usual answer.
const DECLARED: &[(&str, &str, &str)] = &[
    (paths::TOKEN, "POST", "200"),
    (paths::AUTHORIZE, "GET", "200"),
    (paths::USERINFO, "GET", "200"),
    (paths::INTROSPECT, "POST", "200"),
    (paths::REVOKE, "POST", "200"),
    (paths::JWKS, "GET", "200"),
    (paths::DISCOVERY, "GET", "200"),
    (paths::LOGIN, "POST", "303"),
];

pub const UNMATCHED: &str = "unmatched";

pub fn declare_routes(metrics: &Metrics) {
    metrics.declare_routes(DECLARED);
}

/// The middleware (see the module comment). An error from further in is answered here,
/// so that answer too carries the id and is counted.
pub async fn middleware(
    metrics: Metrics,
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let watch = Stopwatch::start();
    let method = method_label(request.method().as_str());
    // The pattern the path matches, read from the route map (the request is not cloned:
    // the router needs it to itself).
    let pattern = request.match_pattern();
    let id = request_id::header_value(&request);
    let (status, result) = match next.call(request).await {
        Ok(mut response) => {
            tag(response.headers_mut(), id);
            (response.status(), Ok(response))
        }
        Err(error) => {
            let mut answer = error.error_response();
            tag(answer.headers_mut(), id);
            let status = answer.status();
            (
                status,
                Err(InternalError::from_response(error, answer).into()),
            )
        }
    };
    let route = pattern.as_deref().unwrap_or(UNMATCHED);
    telemetry::record_status(status.as_u16());
    metrics.http_request(route, method, status.as_str(), watch.elapsed());
    result
}

fn tag(headers: &mut HeaderMap, id: Option<HeaderValue>) {
    if let Some(id) = id {
        headers.insert(HeaderName::from_static(request_id::HEADER), id);
    }
}

/// The metrics listener: `GET /metrics` and nothing else.
pub fn configure_metrics(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(scrape));
}

async fn scrape(exposition: web::Data<Exposition>) -> HttpResponse {
    match exposition.render().await {
        Ok(text) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, CONTENT_TYPE))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(text),
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "metrics could not be encoded");
            HttpResponse::InternalServerError().finish()
        }
    }
}
