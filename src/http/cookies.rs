//! Our cookies: the session cookie and the browser-binding cookie (the double-submit CSRF
//! value and what binds a pending request to one browser). HttpOnly, Secure on https
//! issuers, SameSite from config.

use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse};

use crate::settings::{CookieSameSite, CookieSecure, Settings};

type Hmac = hmac::Hmac<sha2::Sha256>;

/// How long a binding cookie lives: longer than any pending request (15 minutes).
const BINDING_TTL_SECS: i64 = 86_400;

#[derive(Clone)]
pub struct CookiePolicy {
    pub session_name: String,
    pub binding_name: String,
    secure: bool,
    same_site: SameSite,
    session_ttl_secs: i64,
    /// Keys the CSRF value, so that a binding cookie an attacker planted (cookie tossing
    /// from a sibling domain) does not tell them the form value.
    form_key: [u8; 32],
}

impl CookiePolicy {
    pub fn new(settings: &Settings, form_key: [u8; 32]) -> Self {
        let secure = match settings.sessions.cookie_secure {
            CookieSecure::Always => true,
            CookieSecure::Never => false,
            CookieSecure::Auto => settings.server.issuer.starts_with("https://"),
        };
        let same_site = match settings.sessions.cookie_same_site {
            CookieSameSite::Lax => SameSite::Lax,
            CookieSameSite::Strict => SameSite::Strict,
        };
        // RFC 6265bis §4.1.3.2: `__Host-` cookies are Secure, host-only and for path `/`,
        // so a sibling domain or a plain-http page cannot set or shadow them.
        let https = settings.server.issuer.starts_with("https://");
        let prefix = if https && secure { "__Host-" } else { "" };
        let name = &settings.sessions.cookie_name;
        Self {
            session_name: format!("{prefix}{name}"),
            binding_name: format!("{prefix}{name}_csrf"),
            secure,
            same_site,
            session_ttl_secs: settings.sessions.ttl_secs,
            form_key,
        }
    }

    /// The synchroniser token forms carry: HMAC-SHA-256 of the binding under a server key.
    pub fn csrf_value(&self, binding: &str) -> String {
        use base64::Engine;
        use hmac::Mac;
        // HMAC takes a key of any length, so this never fails.
        let mut mac = Hmac::new_from_slice(&self.form_key).unwrap_or_else(|_| unreachable!());
        mac.update(b"csrf-form:");
        mac.update(binding.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Constant-time comparison of a posted CSRF value with this browser's.
    pub fn csrf_matches(&self, binding: &str, presented: &str) -> bool {
        use subtle::ConstantTimeEq;
        self.csrf_value(binding)
            .as_bytes()
            .ct_eq(presented.as_bytes())
            .into()
    }

    fn build(&self, name: &str, value: String, max_age_secs: i64) -> Cookie<'static> {
        Cookie::build(name.to_owned(), value)
            .path("/")
            .http_only(true)
            .secure(self.secure)
            .same_site(self.same_site)
            .max_age(actix_web::cookie::time::Duration::seconds(max_age_secs))
            .finish()
    }

    pub fn session(&self, value: String) -> Cookie<'static> {
        self.build(&self.session_name, value, self.session_ttl_secs)
    }

    /// Deletes the session cookie in the browser.
    pub fn session_removal(&self) -> Cookie<'static> {
        self.build(&self.session_name, String::new(), 0)
    }

    pub fn binding(&self, value: String) -> Cookie<'static> {
        self.build(&self.binding_name, value, BINDING_TTL_SECS)
    }
}

/// Adds a cookie to a response. Our values are base64url, so this cannot fail in practice;
/// if it does, the response goes out without it and the log says so.
pub fn with_cookie(mut response: HttpResponse, cookie: &Cookie<'_>) -> HttpResponse {
    if let Err(e) = response.add_cookie(cookie) {
        tracing::error!(error = %e, cookie = cookie.name(), "cannot set a cookie");
    }
    response
}

/// A binding value the [`BrowserBinding`](super::extract::BrowserBinding) extractor made up
/// for a browser that had none; the middleware below sets it on the response.
#[derive(Clone)]
pub(super) struct NewBinding(pub String);

/// Sets the binding cookie on any response to a request that needed a new one.
pub async fn set_new_binding(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut response = next.call(req).await?;
    let new = response.request().extensions().get::<NewBinding>().cloned();
    let policy = response
        .request()
        .app_data::<actix_web::web::Data<CookiePolicy>>()
        .cloned();
    if let (Some(NewBinding(value)), Some(policy)) = (new, policy) {
        if let Err(e) = response.response_mut().add_cookie(&policy.binding(value)) {
            tracing::error!(error = %e, "cannot set the binding cookie");
        }
    }
    Ok(response)
}
