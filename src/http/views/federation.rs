//! The pages of signing in with an upstream provider: its button, a failed round trip, and
//! the account page's list of linked providers.

use askama::Template;

/// A provider's sign-in link.
pub struct ProviderLink {
    pub id: String,
    pub label: String,
    pub href: String,
}

/// Why an upstream sign-in stopped, and the way back.
#[derive(Template)]
#[template(path = "federation_error.html")]
pub struct FederationErrorPage<'a> {
    pub title: &'a str,
    pub message: &'a str,
    pub back_href: &'a str,
    pub back_label: &'a str,
}

/// One provider on the account page: linked (with the upstream email) or not.
pub struct ProviderRow {
    pub id: String,
    pub name: String,
    pub linked: bool,
    pub email: String,
    pub linked_on: String,
}

#[derive(Template)]
#[template(path = "account_providers.html")]
pub struct ProvidersPage<'a> {
    pub email: &'a str,
    pub csrf: &'a str,
    pub rows: Vec<ProviderRow>,
    pub link_action: &'a str,
    pub unlink_action: &'a str,
    pub account_href: &'a str,
    pub done: Option<&'a str>,
    pub error: Option<&'a str>,
}
