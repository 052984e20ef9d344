//! The admin console's pages: the start, clients, roles, keys, and the two pages every area
//! shares — the confirm page before a destructive change, and the page that shows a new
//! secret the one time it is shown. Users and the audit log are in [`super::console_users`].

use askama::Template;

use crate::accounts::store::RoleHolders;
use crate::clients::{Client, GrantType};
use crate::keys::{KeyState, PublishedKey};
use crate::paths::{self, fill};

/// What a form post did, confirmed after its redirect (`?done=…`): a fixed set, so a page
/// never shows text taken from the address.
pub fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "role" => "Role created.",
        "created" => "Client created.",
        "saved" => "Client saved.",
        "deleted" => "Client deleted.",
        "user" => "User created.",
        "user-deleted" => "User deleted.",
        "roles" => "Roles changed.",
        "password" => "Password set. The user's sessions stay: disable the user to lock them out.",
        "disabled" => "User disabled and signed out everywhere.",
        "enabled" => "User enabled: they can sign in again.",
        "factors" => {
            "Second factors removed. The user signs in with the password and can enrol again."
        }
        "session" => "Session ended.",
        "consent" => "Consent revoked, with that application's refresh tokens.",
        _ => return None,
    })
}

#[derive(Template)]
#[template(path = "console.html")]
pub struct HomePage<'a> {
    pub email: &'a str,
    pub links: [(&'static str, &'static str, &'static str); 6],
}

impl<'a> HomePage<'a> {
    pub fn new(email: &'a str) -> Self {
        Self {
            email,
            links: [
                (
                    paths::CONSOLE_CLIENTS,
                    "Clients",
                    "Register, edit and delete applications; rotate secrets.",
                ),
                (
                    paths::CONSOLE_USERS,
                    "Users",
                    "Find, create, disable users; their roles, sessions and consents.",
                ),
                (
                    paths::CONSOLE_ROLES,
                    "Roles",
                    "The roles there are, and how many hold each.",
                ),
                (
                    paths::CONSOLE_AUDIT,
                    "Audit log",
                    "What happened, by user, client and kind.",
                ),
                (
                    paths::CONSOLE_KEYS,
                    "Signing keys",
                    "The keys the JWKS publishes.",
                ),
                (
                    paths::CONSOLE_TOKENS,
                    "Registration tokens",
                    "Initial access tokens for dynamic registration.",
                ),
            ],
        }
    }
}

/// Asks before a change that cannot be undone; Cancel goes back without it.
#[derive(Template)]
#[template(path = "console_confirm.html")]
pub struct ConfirmPage<'a> {
    pub title: &'a str,
    pub message: String,
    pub action: String,
    pub csrf: &'a str,
    pub button: &'a str,
    pub cancel: String,
}

/// A secret (a client secret, an initial access token) the one time it is shown: it is
/// stored only as a digest, so this answer is the only place it ever appears.
#[derive(Template)]
#[template(path = "console_secret.html")]
pub struct SecretPage<'a> {
    pub title: &'a str,
    pub label: &'a str,
    pub secret: &'a str,
    pub details: Vec<(&'a str, String)>,
    pub next: String,
    pub next_label: &'a str,
}

pub struct ClientRow {
    pub name: String,
    pub id: String,
    pub href: String,
    pub public: bool,
    pub self_registered: bool,
    pub first_party: bool,
}

#[derive(Template)]
#[template(path = "console_clients.html")]
pub struct ClientsPage {
    pub notice: Option<&'static str>,
    pub clients: Vec<ClientRow>,
    pub new_href: &'static str,
}

impl ClientsPage {
    pub fn new(clients: &[Client], done: Option<&str>) -> Self {
        let row = |c: &Client| ClientRow {
            name: c.name.clone(),
            id: c.id.clone(),
            href: fill(paths::CONSOLE_CLIENT, &[&c.id]),
            public: c.is_public(),
            self_registered: c.registration_token_sha256.is_some(),
            first_party: !c.require_consent,
        };
        Self {
            notice: notice(done),
            clients: clients.iter().map(row).collect(),
            new_href: paths::CONSOLE_CLIENT_NEW,
        }
    }
}

#[derive(Template)]
#[template(path = "console_client.html")]
pub struct ClientPage<'a> {
    pub notice: Option<&'static str>,
    pub client: &'a Client,
    pub grants: Vec<&'static str>,
    pub self_registered: bool,
    /// Only a confidential client with a secret has one to rotate.
    pub has_secret: bool,
    pub edit_href: String,
    pub secret_href: String,
    pub delete_href: String,
    pub back: &'static str,
}

impl<'a> ClientPage<'a> {
    pub fn new(client: &'a Client, done: Option<&str>) -> Self {
        Self {
            notice: notice(done),
            grants: client.grant_types.iter().map(|g| g.as_str()).collect(),
            self_registered: client.registration_token_sha256.is_some(),
            has_secret: !client.is_public() && client.secret_sha256.is_some(),
            edit_href: fill(paths::CONSOLE_CLIENT_EDIT, &[&client.id]),
            secret_href: fill(paths::CONSOLE_CLIENT_SECRET, &[&client.id]),
            delete_href: fill(paths::CONSOLE_CLIENT_DELETE, &[&client.id]),
            back: paths::CONSOLE_CLIENTS,
            client,
        }
    }
}

/// A client form's values: as stored (to edit), as typed (a refused form), or the defaults.
#[derive(Debug, Clone, Default)]
pub struct ClientValues {
    pub name: String,
    /// One per line.
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub code: bool,
    pub refresh: bool,
    pub client_credentials: bool,
    /// Space-separated.
    pub scope: String,
    pub public: bool,
    pub first_party: bool,
}

impl ClientValues {
    pub fn of(client: &Client) -> Self {
        let has = |g| client.grant_types.contains(&g);
        Self {
            name: client.name.clone(),
            redirect_uris: client.redirect_uris.join("\n"),
            post_logout_redirect_uris: client.post_logout_redirect_uris.join("\n"),
            code: has(GrantType::AuthorizationCode),
            refresh: has(GrantType::RefreshToken),
            client_credentials: has(GrantType::ClientCredentials),
            scope: client.scopes.join(" "),
            public: client.is_public(),
            first_party: !client.require_consent,
        }
    }
}

#[derive(Template)]
#[template(path = "console_client_form.html")]
pub struct ClientFormPage<'a> {
    pub title: &'a str,
    pub action: String,
    pub csrf: &'a str,
    pub values: ClientValues,
    pub error: Option<&'a str>,
    /// The `ETag` the edit form was rendered with; `None` for a new client.
    pub version: Option<&'a str>,
    pub cancel: String,
}

#[derive(Template)]
#[template(path = "console_roles.html")]
pub struct RolesPage<'a> {
    pub csrf: &'a str,
    pub notice: Option<&'static str>,
    pub error: Option<&'a str>,
    pub roles: Vec<RoleHolders>,
    pub action: &'static str,
}

impl<'a> RolesPage<'a> {
    pub fn new(
        csrf: &'a str,
        roles: Vec<RoleHolders>,
        done: Option<&str>,
        error: Option<&'a str>,
    ) -> Self {
        Self {
            csrf,
            notice: notice(done),
            error,
            roles,
            action: paths::CONSOLE_ROLES,
        }
    }
}

pub struct KeyRow {
    pub kid: String,
    pub alg: String,
    pub active: bool,
    /// next, active or retiring (see `keys::timeline`).
    pub state: &'static str,
    pub created: String,
    /// When it starts (or started) signing, and when it leaves the JWKS.
    pub activates: String,
    pub retires: String,
}

#[derive(Template)]
#[template(path = "console_keys.html")]
pub struct KeysPage {
    pub keys: Vec<KeyRow>,
}

impl KeysPage {
    pub fn new(keys: &[PublishedKey]) -> Self {
        let row = |k: &PublishedKey| KeyRow {
            kid: k.kid.clone(),
            alg: k.alg.clone(),
            active: k.state == KeyState::Active,
            state: k.state.as_str(),
            created: when(k.created_at),
            activates: when(k.activates_at),
            retires: when(k.retire_after),
        };
        Self {
            keys: keys.iter().map(row).collect(),
        }
    }
}

fn when(at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    at.map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M UTC").to_string())
}

/// Unix seconds as a date and time, in UTC.
pub fn format_time(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M UTC").to_string())
}

/// A length of time in the largest whole unit that fits: "2 days", "36 hours", "90 seconds".
pub fn duration_words(secs: u64) -> String {
    let (n, unit) = match secs {
        s if s >= 86_400 && s % 86_400 == 0 => (s / 86_400, "day"),
        s if s >= 3_600 && s % 3_600 == 0 => (s / 3_600, "hour"),
        s if s >= 60 && s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    match n {
        1 => format!("1 {unit}"),
        n => format!("{n} {unit}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_their_largest_whole_unit() {
        assert_eq!(duration_words(86_400), "1 day");
        assert_eq!(duration_words(7 * 86_400), "7 days");
        assert_eq!(duration_words(129_600), "36 hours");
        assert_eq!(duration_words(90), "90 seconds");
        assert_eq!(duration_words(0), "0 seconds");
    }

    #[test]
    fn only_known_confirmations_are_shown() {
        assert_eq!(notice(Some("saved")), Some("Client saved."));
        assert_eq!(notice(Some("<script>")), None);
        assert_eq!(notice(None), None);
    }
}
