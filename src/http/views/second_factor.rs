//! The second-factor page of the sign-in, and the page that ends a challenge after too
//! many wrong codes.

use askama::Template;

use crate::oidc::second_factor::CodePrompt;
use crate::paths;

/// Which code the page asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    /// From the authenticator app (or one mailed, when that is the user's factor).
    Code,
    /// One of the recovery codes.
    Recovery,
}

#[derive(Template)]
#[template(path = "login_code.html")]
pub struct CodePage<'a> {
    pub action: &'a str,
    pub email_action: &'a str,
    pub challenge: &'a str,
    pub csrf: &'a str,
    pub prompt: &'a CodePrompt,
    pub recovery: bool,
    pub recovery_href: String,
    pub code_href: String,
    pub error: Option<&'a str>,
}

impl<'a> CodePage<'a> {
    pub fn new(
        challenge: &'a str,
        csrf: &'a str,
        prompt: &'a CodePrompt,
        kind: CodeKind,
        error: Option<&'a str>,
    ) -> Self {
        let page = format!("{}?challenge={challenge}", paths::LOGIN_CODE);
        Self {
            action: paths::LOGIN_CODE,
            email_action: paths::LOGIN_CODE_EMAIL,
            challenge,
            csrf,
            prompt,
            // Without an app there are no recovery codes: a mailed code is the only kind.
            recovery: kind == CodeKind::Recovery && prompt.totp,
            recovery_href: format!("{page}&kind=recovery"),
            code_href: page,
            error,
        }
    }

    /// Whether the page asks for a mailed code (the user's only factor, or the one chosen).
    pub fn asks_mailed_code(&self) -> bool {
        !self.recovery && self.prompt.mailed_to.is_some()
    }
}

#[derive(Template)]
#[template(path = "login_code_over.html")]
pub struct StartOverPage<'a> {
    pub href: &'a str,
}
