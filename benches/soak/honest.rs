//! Honest traffic: people signing in through the authorization code flow with PKCE (the
//! right demo password, consent when asked, the code exchanged, the refresh token used
//! once), and a confidential client asking for client_credentials grants at a steady rate.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use gatehouse::{demo, paths};
use sha2::Digest;

use crate::browser::{Browser, Ctx, Reply, hidden_field, is_login_form, login_error, query_param};
use crate::pace::paced;
use crate::stats::Kind;

pub const SCOPE: &str = "openid profile email offline_access";
/// The relying party's backend, asking for client_credentials grants.
const RP_ADDRESS: &str = "198.51.100.250";

/// A client the flows run as: public (PKCE alone) or confidential (and Basic authentication).
#[derive(Clone, Copy)]
pub struct Client {
    pub id: &'static str,
    pub secret: Option<&'static str>,
}

const SPA: Client = Client {
    id: demo::SPA_CLIENT_ID,
    secret: None,
};
pub const WEB: Client = Client {
    id: demo::WEB_CLIENT_ID,
    secret: Some(demo::WEB_CLIENT_SECRET),
};

/// The address of user `user`'s `flow`-th sign-in, out of 198.51.100.10–249. Each flow is
/// another person's browser: one address signing in over and over would be a real user's
/// pattern no more than the attacker's, and would meet the server's per-address limits on
/// sign-in pages and attempts (600 per 10 minutes each) within minutes.
fn address(user: usize, users: usize, flow: u64) -> String {
    let slot = (flow * users as u64 + user as u64) % 240;
    format!("198.51.100.{}", 10 + slot)
}

/// One user looping over full flows until the deadline, `think` apart. Counts
/// `flow.attempted`, `flow.succeeded` and `flow.failed.<step: what>`.
pub async fn user(ctx: Arc<Ctx>, user: usize, users: usize, think: Duration) {
    let (email, password, ..) = demo::USERS[user % demo::USERS.len()];
    let client = if user % 2 == 0 { SPA } else { WEB };
    let mut n = 0;
    while ctx.running() {
        ctx.stats.event("flow.attempted");
        let mut browser = Browser::new(&ctx, Kind::Flow, address(user, users, n));
        match flow(&mut browser, client, email, password).await {
            Ok(()) => ctx.stats.event("flow.succeeded"),
            Err(reason) => ctx.stats.event(format!("flow.failed.{reason}")),
        }
        n += 1;
        tokio::time::sleep(think).await;
    }
}

async fn flow(
    browser: &mut Browser,
    client: Client,
    email: &str,
    password: &str,
) -> Result<(), String> {
    let (verifier, challenge) = pkce_pair();
    let state = random_token();
    let start = authorize_url(&browser.ctx, client.id, &challenge, &state);
    let back = sign_in(browser, start, email, password).await?;
    if query_param(&back, "state").as_deref() != Some(state.as_str()) {
        return Err("redirect: state missing or changed".into());
    }
    let Some(code) = query_param(&back, "code") else {
        let error = query_param(&back, "error").unwrap_or_default();
        return Err(format!("redirect: no code (error={error})"));
    };
    let redirect_uri = demo::REDIRECT_URIS[0];
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier.as_str()),
    ];
    let tokens = token(browser, "token_code", client, &exchange).await?;
    let Some(refresh_token) = tokens["refresh_token"].as_str() else {
        return Err("token_code: no refresh_token".into());
    };
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    let refreshed = token(browser, "token_refresh", client, &refresh).await?;
    match refreshed["access_token"].as_str() {
        Some(_) => Ok(()),
        None => Err("token_refresh: no access_token".into()),
    }
}

/// Walks the browser from the authorize URL to the redirect back to the client: follows
/// redirects, fills in the login form and allows consent. Returns the client's URL.
async fn sign_in(
    browser: &mut Browser,
    mut url: String,
    email: &str,
    password: &str,
) -> Result<String, String> {
    for _ in 0..10 {
        let step = step_of(&url);
        let page = browser.get(step, &url).await?;
        let reply = match page.status {
            _ if page.is_redirect() => page,
            200 => submit(browser, step, &page.body, email, password).await?,
            status => return Err(format!("{step}: {status}")),
        };
        let next = browser
            .ctx
            .absolute(reply.location.as_deref().unwrap_or_default());
        if next.starts_with(demo::REDIRECT_URIS[0]) {
            return Ok(next);
        }
        url = next;
    }
    Err("sign-in: more than 10 steps".into())
}

/// Fills in the page a flow was shown (the login form, or consent) and expects a redirect.
async fn submit(
    browser: &mut Browser,
    step: &'static str,
    page: &str,
    email: &str,
    password: &str,
) -> Result<Reply, String> {
    let (Some(request), Some(csrf)) = (hidden_field(page, "request"), hidden_field(page, "csrf"))
    else {
        return Err(format!("{step}: a page without a form"));
    };
    let mut fields = vec![("request", request.as_str()), ("csrf", csrf.as_str())];
    let (step, path) = if is_login_form(page) {
        fields.extend([("email", email), ("password", password)]);
        ("login_post", paths::LOGIN)
    } else {
        fields.push(("decision", "allow"));
        ("consent_post", paths::CONSENT)
    };
    let reply = browser.post_form(step, path, &fields).await?;
    if !reply.is_redirect() {
        let shown = login_error(&reply.body).map(|m| format!(" ({m})"));
        return Err(format!(
            "{step}: {}{}",
            reply.status,
            shown.unwrap_or_default()
        ));
    }
    Ok(reply)
}

/// Checks that the server tells the driver's senders apart by their `X-Forwarded-For`:
/// one flow from a known address, then that address on the account's sessions page.
/// Without it the attacker, the flood and the users would all be 127.0.0.1 to the server.
pub async fn check_addressing(base: &str) -> anyhow::Result<()> {
    const ADDRESS: &str = "198.51.100.9";
    let ctx = Ctx::new(base, Duration::from_secs(60))?;
    let mut browser = Browser::new(&ctx, Kind::Flow, ADDRESS);
    let (email, password, ..) = demo::USERS[0];
    let signed_in = flow(&mut browser, SPA, email, password).await;
    signed_in.map_err(|e| anyhow::anyhow!("a first flow failed: {e}"))?;
    let page = browser
        .get("other_page", &ctx.url(paths::ACCOUNT_SESSIONS))
        .await;
    let page = page.map_err(|e| anyhow::anyhow!("{e}"))?;
    anyhow::ensure!(
        page.body.contains(&format!("IP {ADDRESS} ")),
        "the server does not take X-Forwarded-For from 127.0.0.1; start it with \
         GATEHOUSE__SERVER__TRUSTED_PROXIES='[\"127.0.0.1/32\"]'"
    );
    Ok(())
}

/// The latency bucket of a page of ours.
fn step_of(url: &str) -> &'static str {
    let path = url::Url::parse(url)
        .map(|u| u.path().to_owned())
        .unwrap_or_default();
    match path.as_str() {
        paths::AUTHORIZE => "authorize",
        paths::AUTHORIZE_RESUME => "authorize_resume",
        paths::LOGIN => "login_form",
        paths::CONSENT => "consent_form",
        _ => "other_page",
    }
}

/// A token request as `client`: Basic authentication, or `client_id` in the body.
async fn token(
    browser: &mut Browser,
    step: &'static str,
    client: Client,
    form: &[(&str, &str)],
) -> Result<serde_json::Value, String> {
    let mut form = form.to_vec();
    let mut request = browser.ctx.http.post(browser.ctx.url(paths::TOKEN));
    match client.secret {
        Some(secret) => request = request.basic_auth(client.id, Some(secret)),
        None => form.push(("client_id", client.id)),
    }
    let reply = browser.send(step, request.form(&form)).await?;
    let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap_or_default();
    if reply.status != 200 {
        let error = body["error"].as_str().unwrap_or("?");
        return Err(format!("{step}: {} {error}", reply.status));
    }
    Ok(body)
}

/// client_credentials grants as `demo-web` at `rate` per second. Counts `cc.succeeded` and
/// `cc.failed.<what>`.
pub async fn client_credentials(ctx: Arc<Ctx>, rate: u32) {
    let shared = ctx.clone();
    paced(&ctx, "cc", rate, 32, move |_| {
        let ctx = shared.clone();
        async move {
            let mut rp = Browser::new(&ctx, Kind::ClientCredentials, RP_ADDRESS);
            let form = [("grant_type", "client_credentials"), ("scope", "profile")];
            match token(&mut rp, "client_credentials", WEB, &form).await {
                Ok(body) if body["access_token"].is_string() => ctx.stats.event("cc.succeeded"),
                Ok(_) => ctx.stats.event("cc.failed.no access_token"),
                Err(reason) => ctx.stats.event(format!("cc.failed.{reason}")),
            }
        }
    })
    .await;
}

pub fn authorize_url(ctx: &Ctx, client_id: &str, challenge: &str, state: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", demo::REDIRECT_URIS[0])
        .append_pair("scope", SCOPE)
        .append_pair("state", state)
        .append_pair("nonce", &random_token())
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256")
        .finish();
    format!("{}?{query}", ctx.url(paths::AUTHORIZE))
}

/// A PKCE pair (verifier, S256 challenge), RFC 7636 §4.1–4.2.
pub fn pkce_pair() -> (String, String) {
    let verifier = format!("{}{}", random_token(), random_token());
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn random_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
