//! The account page: what it shows of the user's profile, sessions, allowed applications
//! and recent activity, and the errors and confirmations of its forms.

use askama::Template;

use super::{describe_event, describe_scope};
use crate::audit::Recorded;
use crate::mfa::Enrolled;
use crate::oidc::account::{AllowedApp, Overview, PasswordRefused};
use crate::oidc::session::SignedIn;
use crate::paths;
use crate::sessions::Session;

/// Where the page's forms post.
pub struct Actions {
    pub profile: &'static str,
    pub password: &'static str,
    pub email_resend: &'static str,
    pub sessions_end: &'static str,
    pub apps_revoke: &'static str,
}

const ACTIONS: Actions = Actions {
    profile: paths::ACCOUNT_PROFILE,
    password: paths::ACCOUNT_PASSWORD,
    email_resend: paths::ACCOUNT_EMAIL_RESEND,
    sessions_end: paths::ACCOUNT_SESSIONS_END,
    apps_revoke: paths::ACCOUNT_APPS_REVOKE,
};

/// What a form post did, confirmed after its redirect (`?done=…`): a fixed set, so the
/// page never shows text taken from the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    Profile,
    Password,
    App,
    Session,
    /// A new verification link was mailed.
    Resent,
}

impl Done {
    const ALL: [Self; 5] = [
        Self::Profile,
        Self::Password,
        Self::App,
        Self::Session,
        Self::Resent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Profile => "profile",
            Self::Password => "password",
            Self::App => "app",
            Self::Session => "session",
            Self::Resent => "resent",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|done| done.as_str() == raw)
    }

    fn message(self) -> &'static str {
        match self {
            Self::Profile => "Profile saved.",
            Self::Password => "Password changed. Your other sessions were signed out.",
            Self::App => "Access removed. The application must ask you again.",
            Self::Session => "Session ended.",
            Self::Resent => "A new confirmation link is on its way to your address.",
        }
    }

    /// The account page confirming this, at the section the form was in (whose ids differ
    /// from the sign-in form's fields).
    pub fn location(self) -> String {
        let section = match self {
            Self::Profile => "profile",
            Self::Password => "password-change",
            Self::App => "apps",
            Self::Session => "sessions",
            Self::Resent => "email-address",
        };
        format!("{}?done={}#{section}", paths::ACCOUNT, self.as_str())
    }
}

/// Errors shown next to their fields.
#[derive(Debug, Default)]
pub struct FieldErrors {
    pub name: Option<String>,
    pub current_password: Option<String>,
    pub new_password: Option<String>,
    pub confirm_password: Option<String>,
}

impl From<PasswordRefused> for FieldErrors {
    fn from(refused: PasswordRefused) -> Self {
        match refused {
            PasswordRefused::WrongCurrent => Self {
                current_password: Some("That is not your current password.".into()),
                ..Self::default()
            },
            PasswordRefused::Weak(weak) => Self {
                new_password: Some(weak.0),
                ..Self::default()
            },
            PasswordRefused::Mismatch => Self {
                confirm_password: Some("This does not match the new password.".into()),
                ..Self::default()
            },
        }
    }
}

/// One of the user's sessions.
pub struct SessionRow {
    pub sid: String,
    pub device: String,
    pub ip: String,
    pub created: String,
    pub last_seen: String,
    pub current: bool,
}

/// One application the user has allowed.
pub struct AppRow {
    pub client_id: String,
    pub name: String,
    pub scopes: Vec<&'static str>,
    pub granted: String,
}

/// One line of recent activity.
pub struct ActivityRow {
    pub what: String,
    pub when: String,
    pub ip: String,
    pub device: String,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage<'a> {
    pub csrf: &'a str,
    pub actions: Actions,
    pub done: Option<&'static str>,
    /// The name field's value: the saved name, or what was typed when it was refused.
    pub name: &'a str,
    pub email: &'a str,
    pub email_verified: bool,
    pub errors: FieldErrors,
    pub sessions: Vec<SessionRow>,
    pub apps: Vec<AppRow>,
    pub activity: Vec<ActivityRow>,
    /// The second factors, and where they are managed.
    pub factors: Enrolled,
    pub mfa_href: &'static str,
    /// The admin console, for a user holding the admin role.
    pub console_href: Option<&'static str>,
}

/// What the page shows besides the user's own data: the form token, a confirmation, or a
/// refused form's errors and (for the name) what was typed.
#[derive(Default)]
pub struct Shown<'a> {
    pub csrf: &'a str,
    pub name: Option<&'a str>,
    pub done: Option<Done>,
    pub errors: FieldErrors,
}

impl<'a> AccountPage<'a> {
    pub fn new(me: &'a SignedIn, shown: Shown<'a>, overview: Overview) -> Self {
        let this_browser = me.session_id.as_str();
        let session = |(id, s): (String, Session)| session_row(s, id == this_browser);
        Self {
            csrf: shown.csrf,
            actions: ACTIONS,
            done: shown.done.map(Done::message),
            name: shown.name.unwrap_or(&me.user.name),
            email: &me.user.email,
            email_verified: me.user.email_verified,
            errors: shown.errors,
            sessions: overview.sessions.into_iter().map(session).collect(),
            apps: overview.apps.into_iter().map(app_row).collect(),
            activity: overview.activity.into_iter().map(activity_row).collect(),
            factors: overview.factors,
            mfa_href: paths::ACCOUNT_MFA,
            console_href: me
                .user
                .roles
                .iter()
                .any(|r| r == crate::admin::access::ADMIN_ROLE)
                .then_some(paths::CONSOLE),
        }
    }
}

fn session_row(s: Session, current: bool) -> SessionRow {
    SessionRow {
        current,
        device: device_of(&s.user_agent),
        sid: s.sid,
        ip: s.ip,
        created: format_time(s.created_at),
        last_seen: format_time(s.last_seen),
    }
}

fn app_row(app: AllowedApp) -> AppRow {
    AppRow {
        scopes: scope_lines(&app),
        granted: app.granted_at.format("%Y-%m-%d").to_string(),
        client_id: app.client_id,
        name: app.client_name,
    }
}

/// What the application may do, each thing once (unknown scopes share one description).
fn scope_lines(app: &AllowedApp) -> Vec<&'static str> {
    let mut lines = Vec::new();
    for line in app.scopes.iter().map(describe_scope) {
        if !lines.contains(&line) {
            lines.push(line);
        }
    }
    lines
}

fn activity_row(e: Recorded) -> ActivityRow {
    ActivityRow {
        what: describe_event(&e.kind, &e.detail),
        when: format_time(e.at / 1000),
        device: device_of(&e.user_agent),
        ip: e.ip,
    }
}

fn format_time(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M UTC").to_string())
}

/// A user agent in words a person recognises ("Firefox on Windows"); the string itself,
/// shortened, when it names no browser we know.
pub fn device_of(user_agent: &str) -> String {
    const BROWSERS: [(&str, &str); 6] = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ];
    const SYSTEMS: [(&str, &str); 6] = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ];
    let found = |table: &[(&str, &'static str)]| {
        let hit = table.iter().find(|(marker, _)| user_agent.contains(marker));
        hit.map(|(_, name)| *name)
    };
    match (found(&BROWSERS), found(&SYSTEMS)) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(browser), None) => browser.to_owned(),
        _ if user_agent.trim().is_empty() => "Unknown device".to_owned(),
        _ => user_agent.chars().take(60).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_named_in_words() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                      Chrome/131.0.0.0 Safari/537.36";
        assert_eq!(device_of(chrome), "Chrome on Linux");
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like \
                    Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
        assert_eq!(device_of(edge), "Edge on Windows");
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 \
                      (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(device_of(iphone), "Safari on iOS");
        assert_eq!(device_of(""), "Unknown device");
        assert_eq!(device_of("my-script/1.0"), "my-script/1.0");
    }

    #[test]
    fn only_known_confirmations_are_shown() {
        for done in Done::ALL {
            assert_eq!(Done::parse(done.as_str()), Some(done));
        }
        assert_eq!(Done::parse("<script>"), None);
        assert_eq!(
            Done::Password.location(),
            "/account?done=password#password-change"
        );
    }
}
