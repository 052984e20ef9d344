//! The authorization endpoint's decisions: who must log in, who must consent, and issuing
//! the code. The pending request lives server-side between the pages.

pub mod request;

use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};

pub use request::{AuthorizationRequest, Params, Prompt, Rejection, ReplyTo, ResponseMode};

use crate::oauth::Error;
use crate::oauth::code::{self, CodeGrant};
use crate::random;
use crate::sessions::Session;
use crate::store::EphemeralStore;

/// How long a user may take on the login and consent pages.
const PENDING_TTL: Duration = Duration::from_secs(15 * 60);

/// An authorization request waiting for the user, bound to the browser that started it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub request: AuthorizationRequest,
    pub client_name: String,
    /// Digest of the browser's CSRF cookie: only that browser can continue the request.
    pub browser: String,
    /// Set when the user logged in for this request (satisfies `prompt=login`/`max_age`).
    pub fresh_login: bool,
    pub consent_given: bool,
}

pub async fn save_pending(store: &dyn EphemeralStore, pending: &Pending) -> anyhow::Result<String> {
    let id = random::token();
    update_pending(store, &id, pending).await?;
    Ok(id)
}

pub async fn update_pending(
    store: &dyn EphemeralStore,
    id: &str,
    pending: &Pending,
) -> anyhow::Result<()> {
    store
        .put(
            &format!("pending:{}", random::digest(id)),
            &serde_json::to_vec(pending)?,
            PENDING_TTL,
        )
        .await?;
    Ok(())
}

/// The pending request if it exists and belongs to this browser.
pub async fn load_pending(
    store: &dyn EphemeralStore,
    id: &str,
    browser: &str,
) -> anyhow::Result<Option<Pending>> {
    let Some(raw) = store
        .get(&format!("pending:{}", random::digest(id)))
        .await?
    else {
        return Ok(None);
    };
    let pending: Pending = serde_json::from_slice(&raw).context("stored pending request")?;
    Ok((pending.browser == random::digest(browser)).then_some(pending))
}

pub async fn drop_pending(store: &dyn EphemeralStore, id: &str) -> anyhow::Result<()> {
    store
        .delete(&format!("pending:{}", random::digest(id)))
        .await?;
    Ok(())
}

/// What happens next for a request, given the browser's session.
#[derive(Debug)]
pub enum Next {
    Login,
    Consent,
    Issue,
    Fail(Error),
}

/// OIDC Core §3.1.2.3: authenticate unless a session is good enough; `prompt=none` must not
/// show a page. `consented` says whether remembered or just-given consent covers the scope.
pub fn decide(pending: &Pending, session: Option<&Session>, consented: bool, now: i64) -> Next {
    let request = &pending.request;
    let too_old = |s: &Session| request.max_age.is_some_and(|max| now - s.auth_time > max);
    let needs_login = match session {
        None => true,
        Some(s) => !pending.fresh_login && (request.prompt.login || too_old(s)),
    };
    let needs_consent = !pending.consent_given && (request.prompt.consent || !consented);
    match (needs_login, needs_consent, request.prompt.none) {
        (true, _, true) => Next::Fail(Error::LoginRequired("the user is not signed in".into())),
        (true, _, false) => Next::Login,
        (false, true, true) => {
            Next::Fail(Error::ConsentRequired("the user has not consented".into()))
        }
        (false, true, false) => Next::Consent,
        (false, false, _) => Next::Issue,
    }
}

/// Issues the authorization code for a signed-in user.
pub async fn issue_code(
    store: &dyn EphemeralStore,
    request: &AuthorizationRequest,
    session: &Session,
    ttl: Duration,
) -> Result<String, Error> {
    let grant = CodeGrant {
        client_id: request.client_id.clone(),
        redirect_uri: request
            .redirect_uri_given
            .then(|| request.reply.redirect_uri.clone()),
        user_id: session.user_id.clone(),
        scope: request.scope.clone(),
        nonce: request.nonce.clone(),
        pkce: request.pkce.clone(),
        auth_time: session.auth_time,
        sid: session.sid.clone(),
        amr: session.amr.clone(),
    };
    Ok(code::issue(store, &grant, ttl).await?)
}
