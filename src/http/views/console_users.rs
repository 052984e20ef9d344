//! The admin console's pages about people and what happened: the user search, a new user,
//! one user (roles, status, password, second factors, sessions, consents), the audit log and
//! the registration tokens.

use askama::Template;

use super::account::device_of;
use super::console::{format_time, notice};
use crate::accounts::User;
use crate::admin::overview::UserOverview;
use crate::audit::{Kind, Recorded};
use crate::clock::UnixTime;
use crate::entities::consents;
use crate::paths::{self, fill};
use crate::sessions::Session;

pub struct UserRow {
    pub email: String,
    pub name: String,
    pub href: String,
    pub disabled: bool,
    pub roles: String,
}

#[derive(Template)]
#[template(path = "console_users.html")]
pub struct UsersPage<'a> {
    pub notice: Option<&'static str>,
    pub q: &'a str,
    pub action: &'static str,
    pub users: Vec<UserRow>,
    /// The next page of the same search, when this one is full.
    pub next_href: Option<String>,
    pub new_href: &'static str,
}

impl<'a> UsersPage<'a> {
    pub fn new(q: &'a str, users: &[User], next: Option<&str>, done: Option<&str>) -> Self {
        let row = |u: &User| UserRow {
            email: u.email.clone(),
            name: u.name.clone(),
            href: fill(paths::CONSOLE_USER, &[&u.id]),
            disabled: u.disabled,
            roles: u.roles.join(", "),
        };
        let next_href = next.map(|cursor| {
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("q", q)
                .append_pair("cursor", cursor)
                .finish();
            format!("{}?{query}", paths::CONSOLE_USERS)
        });
        Self {
            notice: notice(done),
            q,
            action: paths::CONSOLE_USERS,
            users: users.iter().map(row).collect(),
            next_href,
            new_href: paths::CONSOLE_USER_NEW,
        }
    }
}

#[derive(Template)]
#[template(path = "console_user_new.html")]
pub struct NewUserPage<'a> {
    pub csrf: &'a str,
    pub action: &'static str,
    pub email: &'a str,
    pub name: &'a str,
    pub roles: &'a str,
    pub error: Option<&'a str>,
}

pub struct SessionRow {
    pub device: String,
    pub ip: String,
    pub created: String,
    pub last_seen: String,
    pub end_href: String,
}

pub struct ConsentRow {
    pub client_id: String,
    pub scopes: String,
    pub granted: String,
    pub revoke_href: String,
}

/// Where the user page's forms post and its confirm pages are.
pub struct UserActions {
    pub role_add: String,
    pub role_remove: String,
    pub password: String,
    pub enable: String,
    pub disable: String,
    pub factors: String,
    pub delete: String,
}

#[derive(Template)]
#[template(path = "console_user.html")]
pub struct UserPage<'a> {
    pub csrf: &'a str,
    pub notice: Option<&'static str>,
    pub error: Option<&'a str>,
    pub user: User,
    /// Roles the user does not hold yet: what the add form offers.
    pub other_roles: Vec<String>,
    pub factors: Vec<String>,
    pub sessions: Vec<SessionRow>,
    pub consents: Vec<ConsentRow>,
    pub actions: UserActions,
    pub back: &'static str,
}

impl<'a> UserPage<'a> {
    pub fn new(
        csrf: &'a str,
        seen: UserOverview,
        done: Option<&str>,
        error: Option<&'a str>,
    ) -> Self {
        let id = seen.user.id.clone();
        let held = &seen.user.roles;
        Self {
            csrf,
            notice: notice(done),
            error,
            other_roles: seen
                .roles
                .into_iter()
                .map(|r| r.name)
                .filter(|r| !held.contains(r))
                .collect(),
            factors: seen.factors,
            sessions: seen
                .sessions
                .into_iter()
                .map(|s| session_row(&id, s))
                .collect(),
            consents: seen
                .consents
                .into_iter()
                .map(|c| consent_row(&id, c))
                .collect(),
            actions: UserActions::of(&id),
            back: paths::CONSOLE_USERS,
            user: seen.user,
        }
    }
}

impl UserActions {
    fn of(id: &str) -> Self {
        let at = |pattern| fill(pattern, &[id]);
        Self {
            role_add: at(paths::CONSOLE_USER_ROLE_ADD),
            role_remove: at(paths::CONSOLE_USER_ROLE_REMOVE),
            password: at(paths::CONSOLE_USER_PASSWORD),
            enable: at(paths::CONSOLE_USER_ENABLE),
            disable: at(paths::CONSOLE_USER_DISABLE),
            factors: at(paths::CONSOLE_USER_FACTORS_RESET),
            delete: at(paths::CONSOLE_USER_DELETE),
        }
    }
}

fn session_row(user_id: &str, s: Session) -> SessionRow {
    SessionRow {
        device: device_of(&s.user_agent),
        ip: s.ip,
        created: format_time(s.created_at),
        last_seen: format_time(s.last_seen),
        end_href: fill(paths::CONSOLE_USER_SESSION_END, &[user_id, &s.sid]),
    }
}

fn consent_row(user_id: &str, c: consents::Model) -> ConsentRow {
    ConsentRow {
        revoke_href: fill(paths::CONSOLE_USER_CONSENT_REVOKE, &[user_id, &c.client_id]),
        client_id: c.client_id,
        scopes: c.scopes,
        granted: c.granted_at.format("%Y-%m-%d").to_string(),
    }
}

pub struct EventRow {
    pub when: String,
    pub kind: String,
    pub user: Option<String>,
    pub client: Option<String>,
    pub ip: String,
    pub detail: String,
}

/// The audit log's filters as typed (empty is no filter).
#[derive(Debug, Default)]
pub struct AuditFilters {
    pub user: String,
    pub client: String,
    pub kind: String,
}

#[derive(Template)]
#[template(path = "console_audit.html")]
pub struct AuditPage<'a> {
    pub action: &'static str,
    pub filters: &'a AuditFilters,
    pub kinds: Vec<&'static str>,
    pub error: Option<&'a str>,
    pub events: Vec<EventRow>,
    pub next_href: Option<String>,
}

impl<'a> AuditPage<'a> {
    pub fn new(filters: &'a AuditFilters, events: Vec<Recorded>, next: Option<&str>) -> Self {
        let row = |e: Recorded| EventRow {
            when: UnixTime::from_millis(e.at)
                .to_datetime()
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string(),
            kind: e.kind,
            user: e.user_id,
            client: e.client_id,
            ip: e.ip,
            detail: e.detail,
        };
        let next_href = next.map(|cursor| {
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("user", &filters.user)
                .append_pair("client", &filters.client)
                .append_pair("kind", &filters.kind)
                .append_pair("cursor", cursor)
                .finish();
            format!("{}?{query}", paths::CONSOLE_AUDIT)
        });
        Self {
            action: paths::CONSOLE_AUDIT,
            filters,
            kinds: Kind::ALL.iter().map(|k| k.as_str()).collect(),
            error: None,
            events: events.into_iter().map(row).collect(),
            next_href,
        }
    }
}

#[derive(Template)]
#[template(path = "console_tokens.html")]
pub struct TokensPage<'a> {
    pub csrf: &'a str,
    pub action: &'static str,
    pub error: Option<&'a str>,
}
