//! CORS for browser clients (SPAs) on the API endpoints: only the origins of registered
//! redirect URIs and web origins. Discovery and JWKS answer any origin themselves.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use sea_orm::DatabaseConnection;

use super::paths;
use crate::clients;

const CORS_PATHS: [&str; 3] = [paths::TOKEN, paths::USERINFO, paths::REVOKE];
const REFRESH_EVERY: Duration = Duration::from_secs(30);

/// Registered origins, reloaded from the database at most every 30 seconds.
#[derive(Default)]
pub struct AllowedOrigins {
    cached: Mutex<Option<(Instant, Arc<HashSet<String>>)>>,
}

impl AllowedOrigins {
    async fn get(&self, db: &DatabaseConnection) -> Arc<HashSet<String>> {
        if let Ok(guard) = self.cached.lock() {
            if let Some((at, set)) = guard.as_ref() {
                if at.elapsed() < REFRESH_EVERY {
                    return set.clone();
                }
            }
        }
        let set = Arc::new(clients::store::origins(db).await.unwrap_or_default());
        if let Ok(mut guard) = self.cached.lock() {
            *guard = Some((Instant::now(), set.clone()));
        }
        set
    }
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(str::to_owned);
    let (Some(origin), true) = (origin, CORS_PATHS.contains(&req.path())) else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let allowed = match (
        req.app_data::<web::Data<AllowedOrigins>>(),
        req.app_data::<web::Data<DatabaseConnection>>(),
    ) {
        (Some(origins), Some(db)) => origins.get(db).await.contains(&origin),
        _ => false,
    };
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        let mut response = HttpResponse::NoContent();
        response.insert_header((header::VARY, "Origin"));
        if allowed {
            response
                .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.as_str()))
                .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST"))
                .insert_header((
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    "Authorization, Content-Type",
                ))
                .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"));
        }
        return Ok(req.into_response(response.finish()).map_into_right_body());
    }
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    if allowed {
        if let Ok(value) = HeaderValue::from_str(&origin) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        }
    }
    Ok(response.map_into_left_body())
}
