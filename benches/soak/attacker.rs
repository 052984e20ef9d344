//! The attacker: password guesses at a steady rate from one address (203.0.113.7), across
//! the demo accounts and made-up ones. Each guess is a well-formed sign-in, as a script
//! driving a real browser would send it: a fresh login form (and its CSRF value) for a
//! pending authorization request, then that form posted with a wrong password.
//!
//! What the server answers is counted, not assumed: `attacker.refused_429.<where>`,
//! `attacker.form_again.<message>` (the login form shown again with an error),
//! `attacker.outcome.<what>` for anything else, and `attacker.signed_in` if a wrong
//! password ever got through.

use std::sync::Arc;

use gatehouse::{demo, paths};
use tokio::sync::Mutex;

use crate::browser::{Browser, Ctx, Reply, hidden_field, login_error, query_param};
use crate::honest::{WEB, authorize_url, pkce_pair};
use crate::pace::paced;
use crate::stats::Kind;

pub const ADDRESS: &str = "203.0.113.7";
/// Browsers (cookie jars) the attacker cycles through; also its guesses in flight, enough
/// to hold 20 guesses per second while a sign-in takes up to 1.5 s on a busy server.
const BROWSERS: usize = 32;
/// A browser opens a new pending request every this many guesses, as a script would once a
/// request had been tried for a while; it keeps the old one when the server refuses.
const GUESSES_PER_REQUEST: u64 = 10;
const MADE_UP_ACCOUNTS: usize = 45;

struct Attacker {
    browser: Browser,
    pending: Option<String>,
    guesses: u64,
}

/// Guesses at `rate` per second until the deadline.
pub async fn run(ctx: Arc<Ctx>, rate: u32) {
    let browsers: Vec<Arc<Mutex<Attacker>>> = (0..BROWSERS)
        .map(|_| {
            Arc::new(Mutex::new(Attacker {
                browser: Browser::new(&ctx, Kind::Attacker, ADDRESS),
                pending: None,
                guesses: 0,
            }))
        })
        .collect();
    paced(&ctx, "attacker", rate, BROWSERS as u32, move |n| {
        let attacker = browsers[n as usize % BROWSERS].clone();
        async move { attacker.lock().await.guess(n).await }
    })
    .await;
}

/// The `n`-th guess: an account (a demo one, or made up) and a password that is wrong for
/// every account (the demo passwords look like `User@123`).
fn target(n: u64) -> (String, String) {
    let accounts = demo::USERS.len() + MADE_UP_ACCOUNTS;
    let i = n as usize % accounts;
    let email = match demo::USERS.get(i) {
        Some((email, ..)) => (*email).to_owned(),
        None => format!("staff{i}@example.{}", ["com", "org", "net"][i % 3]),
    };
    (email, format!("Winter{n}!x"))
}

impl Attacker {
    async fn guess(&mut self, n: u64) {
        if self.pending.is_none() || self.guesses % GUESSES_PER_REQUEST == 0 {
            self.open_request().await;
        }
        let Some(request) = self.pending.clone() else {
            return;
        };
        self.guesses += 1;
        let ctx = self.browser.ctx.clone();
        let form_url = ctx.url(&format!("{}?request={request}", paths::LOGIN));
        let page = match self.browser.get("login_form", &form_url).await {
            Ok(page) => page,
            Err(_) => return ctx.stats.event("attacker.outcome.login form: no answer"),
        };
        let Some(csrf) = hidden_field(&page.body, "csrf").filter(|_| page.status == 200) else {
            self.pending = None;
            return ctx.stats.event(refusal("login_form", page.status));
        };
        let (email, password) = target(n);
        let form = [
            ("request", request.as_str()),
            ("csrf", csrf.as_str()),
            ("email", email.as_str()),
            ("password", password.as_str()),
        ];
        ctx.stats.event("attacker.posted");
        match self
            .browser
            .post_form("login_post", paths::LOGIN, &form)
            .await
        {
            Ok(reply) => ctx.stats.event(outcome(&reply)),
            Err(_) => ctx.stats.event("attacker.outcome.login post: no answer"),
        }
    }

    /// A new pending request from `/authorize` (its id is in the redirect to the form).
    async fn open_request(&mut self) {
        let (_, challenge) = pkce_pair();
        let ctx = self.browser.ctx.clone();
        let url = authorize_url(&ctx, WEB.id, &challenge, "attack");
        let stats = &ctx.stats;
        match self.browser.get("authorize", &url).await {
            Ok(reply) if reply.is_redirect() => {
                let next = ctx.absolute(reply.location.as_deref().unwrap_or(""));
                match query_param(&next, "request") {
                    Some(id) => self.pending = Some(id),
                    None => stats.event("attacker.outcome.authorize: redirect without a request"),
                }
            }
            Ok(reply) => stats.event(refusal("authorize", reply.status)),
            Err(_) => stats.event("attacker.outcome.authorize: no answer"),
        }
    }
}

/// A step that did not give the attacker what it asked for: a 429, or some other status.
fn refusal(step: &str, status: u16) -> String {
    match status {
        429 => format!("attacker.refused_429.{step}"),
        _ => format!("attacker.outcome.{step}: {status}"),
    }
}

/// What posting a wrong password got.
fn outcome(reply: &Reply) -> String {
    match (reply.status, login_error(&reply.body)) {
        (200, Some(message)) => format!("attacker.form_again.{message}"),
        (200, None) => "attacker.outcome.login post: 200 without an error shown".into(),
        _ if reply.is_redirect() => "attacker.signed_in".into(),
        (status, _) => refusal("login_post", status),
    }
}
