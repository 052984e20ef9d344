//! RP-Initiated Logout 1.0 at the `end_session_endpoint`: a request tied to the current
//! session by `id_token_hint` ends it at once (§2); anything else asks the user first (§3).
//! `post_logout_redirect_uri` must exactly match one registered for the client (§3.1).

use std::sync::Arc;

use super::session::{EndReason, SignOn};
use crate::audit::Origin;
use crate::clients::Client;
use crate::keys::KeyRing;
use crate::oauth::Error;
use crate::oauth::tokens::IdTokenHint;
use crate::sessions::Session;
use crate::settings::Issuer;

/// The parameters of a logout request (§2), each present at most once.
#[derive(Debug, Default)]
pub struct LogoutRequest<'a> {
    pub id_token_hint: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub post_logout_redirect_uri: Option<&'a str>,
    pub state: Option<&'a str>,
}

/// Where the browser goes afterwards, once validated.
#[derive(Debug)]
pub struct Target {
    pub client: Option<Client>,
    pub redirect: Option<String>,
    pub state: Option<String>,
    /// The upstream provider the ended session was signed in at, if any (for a sign-out
    /// there too).
    pub idp: Option<String>,
}

pub enum LogoutStep {
    /// Nothing (more) to end: tell the user or redirect. `ended` says a session was ended
    /// now, so its cookie should go.
    SignedOut { target: Target, ended: bool },
    /// A session exists that the request is not tied to: ask the user (§3).
    Confirm(Target),
}

/// Whether the hint names this very session.
fn ties(hint: &IdTokenHint, session: &Session) -> bool {
    hint.sub == session.user_id && hint.sid.as_deref() == Some(session.sid.as_str())
}

#[derive(Clone)]
pub struct RpLogout {
    pub sign_on: SignOn,
    pub keys: Arc<KeyRing>,
    pub issuer: Issuer,
}

impl RpLogout {
    /// Decides a logout request for the browser with session cookie `cookie`.
    pub async fn request(
        &self,
        request: &LogoutRequest<'_>,
        cookie: Option<&str>,
        origin: &Origin,
    ) -> Result<LogoutStep, Error> {
        let hint = match request.id_token_hint {
            Some(token) => Some(
                IdTokenHint::verify(&self.keys, &self.issuer, token).ok_or_else(|| {
                    Error::invalid_request("The id_token_hint is not an ID token we issued.")
                })?,
            ),
            None => None,
        };
        let client_id = match (hint.as_ref().map(|h| h.aud.as_str()), request.client_id) {
            (Some(a), Some(b)) if a != b => {
                return Err(Error::invalid_request(
                    "client_id does not match the id_token_hint.",
                ));
            }
            (a, b) => a.or(b),
        };
        let target = self.target(client_id, request).await?;
        let Some(signed_in) = self.sign_on.session(cookie).await? else {
            return Ok(LogoutStep::SignedOut {
                target,
                ended: false,
            });
        };
        if !hint.is_some_and(|h| ties(&h, &signed_in.1)) {
            return Ok(LogoutStep::Confirm(target));
        }
        let ended = self.sign_on.end(&signed_in.0, origin, EndReason::Logout);
        let idp = ended.await?.and_then(|session| session.idp);
        Ok(LogoutStep::SignedOut {
            target: Target { idp, ..target },
            ended: true,
        })
    }

    /// The user confirmed on our page: end this browser's session, then go where asked.
    pub async fn confirm(
        &self,
        request: &LogoutRequest<'_>,
        cookie: Option<&str>,
        origin: &Origin,
    ) -> Result<Target, Error> {
        let mut target = self.target(request.client_id, request).await?;
        if let Some((id, _)) = self.sign_on.session(cookie).await? {
            let ended = self.sign_on.end(&id, origin, EndReason::Logout).await?;
            target.idp = ended.and_then(|session| session.idp);
        }
        Ok(target)
    }

    async fn target(
        &self,
        client_id: Option<&str>,
        request: &LogoutRequest<'_>,
    ) -> Result<Target, Error> {
        let client = match client_id {
            Some(id) => Some(
                self.sign_on
                    .clients
                    .get(&self.sign_on.db, id)
                    .await?
                    .ok_or_else(|| Error::invalid_request("Unknown client_id."))?,
            ),
            None => None,
        };
        let redirect = request.post_logout_redirect_uri;
        if let Some(uri) = redirect {
            if !client.as_ref().is_some_and(|c| registered(c, uri)) {
                return Err(Error::invalid_request(
                    "post_logout_redirect_uri is not registered for this client.",
                ));
            }
        }
        Ok(Target {
            client,
            redirect: redirect.map(str::to_owned),
            state: request.state.map(str::to_owned),
            idp: None,
        })
    }
}

/// Exact string comparison, as for redirect URIs (RFC 9700 §4.1.1).
pub fn registered(client: &Client, uri: &str) -> bool {
    client.post_logout_redirect_uris.iter().any(|r| r == uri)
}
