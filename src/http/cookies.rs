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
/// How long a browser is remembered as one its user signed in from (`limits::lockout`).
const DEVICE_TTL_SECS: i64 = 365 * 86_400;

#[derive(Clone)]
pub struct CookiePolicy {
    pub session_name: String,
    pub binding_name: String,
    pub device_name: String,
    secure: bool,
    same_site: SameSite,
    session_ttl_secs: i64,
    /// Keys the CSRF value, so that a binding cookie an attacker planted (cookie tossing
    /// from a sibling domain) does not tell them the form value.
    form_key: [u8; 32],
    /// While the master key is being rotated: values made under the old one still match.
    previous_form_key: Option<[u8; 32]>,
}

impl CookiePolicy {
    /// `previous_form_key` is accepted but never used to make values; see
    /// `KeyRing::previous_form_key`.
    pub fn new(
        settings: &Settings,
        form_key: [u8; 32],
        previous_form_key: Option<[u8; 32]>,
    ) -> Self {
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
            device_name: format!("{prefix}{name}_device"),
            secure,
            same_site,
            session_ttl_secs: settings.sessions.ttl_secs,
            form_key,
            previous_form_key,
        }
    }

    /// The synchroniser token forms carry: HMAC-SHA-256 of the binding under a server key.
    pub fn csrf_value(&self, binding: &str) -> String {
        csrf_value_under(&self.form_key, binding)
    }

    /// Constant-time comparison of a posted CSRF value with this browser's, under the form
    /// key or, during a master-key rotation, the previous one.
    pub fn csrf_matches(&self, binding: &str, presented: &str) -> bool {
        use subtle::ConstantTimeEq;
        let under = |key: &[u8; 32]| -> bool {
            csrf_value_under(key, binding)
                .as_bytes()
                .ct_eq(presented.as_bytes())
                .into()
        };
        under(&self.form_key) || self.previous_form_key.as_ref().is_some_and(under)
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

    /// The device token of a browser that signed in (its failures lock only itself).
    pub fn device(&self, value: String) -> Cookie<'static> {
        self.build(&self.device_name, value, DEVICE_TTL_SECS)
    }

    pub fn binding(&self, value: String) -> Cookie<'static> {
        self.build(&self.binding_name, value, BINDING_TTL_SECS)
    }
}

fn csrf_value_under(form_key: &[u8; 32], binding: &str) -> String {
    use base64::Engine;
    use hmac::Mac;
    // HMAC takes a key of any length, so this never fails.
    let mut mac = Hmac::new_from_slice(form_key).unwrap_or_else(|_| unreachable!());
    mac.update(b"csrf-form:");
    mac.update(binding.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_under_the_previous_form_key_match_but_are_never_made() {
        let settings = Settings::built_in().unwrap();
        let old = CookiePolicy::new(&settings, [1; 32], None);
        let rotating = CookiePolicy::new(&settings, [2; 32], Some([1; 32]));
        let stranger = CookiePolicy::new(&settings, [3; 32], None);

        assert!(rotating.csrf_matches("b", &old.csrf_value("b")));
        assert!(rotating.csrf_matches("b", &rotating.csrf_value("b")));
        assert_ne!(rotating.csrf_value("b"), old.csrf_value("b"));
        assert!(!rotating.csrf_matches("b", &stranger.csrf_value("b")));
        assert!(!rotating.csrf_matches("other", &old.csrf_value("b")));
    }
}
