//! Endpoint paths: one constant each, used by the router, the metadata and the templates.

pub const DISCOVERY: &str = "/.well-known/openid-configuration";
pub const OAUTH_METADATA: &str = "/.well-known/oauth-authorization-server";
pub const JWKS: &str = "/jwks";
pub const AUTHORIZE: &str = "/authorize";
pub const TOKEN: &str = "/token";
pub const USERINFO: &str = "/userinfo";
pub const LOGIN: &str = "/login";
pub const LOGIN_CODE: &str = "/login/code";
pub const LOGIN_CODE_EMAIL: &str = "/login/code/email";
pub const LOGIN_STEP_UP: &str = "/login/step-up";
pub const CONSENT: &str = "/consent";
pub const HEALTHZ: &str = "/healthz";
pub const READYZ: &str = "/readyz";
pub const STATIC: &str = "/static";
pub const AUTHORIZE_RESUME: &str = "/authorize/resume";
pub const REVOKE: &str = "/revoke";
pub const INTROSPECT: &str = "/introspect";
pub const LOGOUT: &str = "/logout";
pub const LOGOUT_CONFIRM: &str = "/logout/confirm";
pub const ACCOUNT_LOGIN: &str = "/account/login";
pub const ACCOUNT_SESSIONS: &str = "/account/sessions";
pub const ACCOUNT_SESSIONS_END: &str = "/account/sessions/end";
pub const ACCOUNT: &str = "/account";
pub const ACCOUNT_PROFILE: &str = "/account/profile";
pub const ACCOUNT_PASSWORD: &str = "/account/password";
pub const ACCOUNT_APPS_REVOKE: &str = "/account/apps/revoke";
pub const ACCOUNT_EMAIL_RESEND: &str = "/account/email/resend";
pub const ACCOUNT_MFA: &str = "/account/mfa";
pub const ACCOUNT_MFA_TOTP: &str = "/account/mfa/totp";
pub const ACCOUNT_MFA_TOTP_CONFIRM: &str = "/account/mfa/totp/confirm";
pub const ACCOUNT_MFA_TOTP_DISABLE: &str = "/account/mfa/totp/disable";
pub const ACCOUNT_MFA_RECOVERY_CODES: &str = "/account/mfa/recovery-codes";
pub const ACCOUNT_MFA_EMAIL: &str = "/account/mfa/email";
pub const REGISTER: &str = "/register";
pub const ADMIN_API: &str = "/admin/api/v1";
/// Dynamic client registration (RFC 7591 §3); `/{client_id}` manages one (RFC 7592).
pub const CLIENT_REGISTRATION: &str = "/connect/register";
pub const ADMIN_OPENAPI: &str = "/admin/api/v1/openapi.json";
pub const DOCS: &str = "/docs";
pub const VERIFY_EMAIL: &str = "/email/verify";
pub const VERIFY_EMAIL_PENDING: &str = "/email/pending";
pub const PASSWORD_FORGOT: &str = "/password/forgot";
pub const PASSWORD_RESET: &str = "/password/reset";

// The admin console: server-rendered pages over the admin service, for a signed-in admin.
// `{…}` segments are filled in with [`fill`].
pub const CONSOLE: &str = "/admin";
pub const CONSOLE_CLIENTS: &str = "/admin/clients";
pub const CONSOLE_CLIENT_NEW: &str = "/admin/clients/new";
pub const CONSOLE_CLIENT: &str = "/admin/clients/{id}";
pub const CONSOLE_CLIENT_EDIT: &str = "/admin/clients/{id}/edit";
pub const CONSOLE_CLIENT_SECRET: &str = "/admin/clients/{id}/secret";
pub const CONSOLE_CLIENT_DELETE: &str = "/admin/clients/{id}/delete";
pub const CONSOLE_USERS: &str = "/admin/users";
pub const CONSOLE_USER_NEW: &str = "/admin/users/new";
pub const CONSOLE_USER: &str = "/admin/users/{id}";
pub const CONSOLE_USER_ROLE_ADD: &str = "/admin/users/{id}/roles/add";
pub const CONSOLE_USER_ROLE_REMOVE: &str = "/admin/users/{id}/roles/remove";
pub const CONSOLE_USER_PASSWORD: &str = "/admin/users/{id}/password";
pub const CONSOLE_USER_ENABLE: &str = "/admin/users/{id}/enable";
pub const CONSOLE_USER_DISABLE: &str = "/admin/users/{id}/disable";
pub const CONSOLE_USER_FACTORS_RESET: &str = "/admin/users/{id}/factors/reset";
pub const CONSOLE_USER_DELETE: &str = "/admin/users/{id}/delete";
pub const CONSOLE_USER_SESSION_END: &str = "/admin/users/{id}/sessions/{sid}/end";
pub const CONSOLE_USER_CONSENT_REVOKE: &str = "/admin/users/{id}/consents/{client}/revoke";
pub const CONSOLE_ROLES: &str = "/admin/roles";
pub const CONSOLE_AUDIT: &str = "/admin/audit";
pub const CONSOLE_KEYS: &str = "/admin/keys";
pub const CONSOLE_TOKENS: &str = "/admin/registration-tokens";

/// `pattern` with its `{…}` segments replaced, in order, by `values`, each percent-encoded
/// so that an id with `/` or `?` stays one segment.
pub fn fill(pattern: &str, values: &[&str]) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    // RFC 3986 §2.3: unreserved characters need no encoding.
    const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    let mut out = String::with_capacity(pattern.len());
    let mut values = values.iter();
    let mut rest = pattern;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .map_or(rest.len(), |e| start + e + 1);
        if let Some(value) = values.next() {
            out.extend(utf8_percent_encode(value, SEGMENT));
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Signing in with an upstream provider: where the browser is sent off, and comes back.
pub const FEDERATION_START: &str = "/federation/{id}/start";
pub const FEDERATION_CALLBACK: &str = "/federation/{id}/callback";
pub const FEDERATION_LOGGED_OUT: &str = "/federation/{id}/logged-out";
/// The account page's linked providers, and linking and unlinking one.
pub const ACCOUNT_PROVIDERS: &str = "/account/providers";
pub const ACCOUNT_PROVIDERS_LINK: &str = "/account/providers/link";
pub const ACCOUNT_PROVIDERS_UNLINK: &str = "/account/providers/unlink";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_filled_in_order_and_encoded() {
        assert_eq!(
            fill(CONSOLE_CLIENT, &["demo-web"]),
            "/admin/clients/demo-web"
        );
        assert_eq!(
            fill(CONSOLE_USER_SESSION_END, &["u1", "a/b?c"]),
            "/admin/users/u1/sessions/a%2Fb%3Fc/end"
        );
        assert_eq!(fill(CONSOLE_USERS, &[]), CONSOLE_USERS);
    }
}
