//! The authorization endpoint (RFC 6749 §4.1, OIDC Core §3.1.2): validating the request,
//! and the sign-in pipeline that follows it — which page the user sees next, and issuing
//! the code once the session and consent are good enough.

mod decision;
mod pending;
pub mod request;
#[cfg(test)]
mod request_tests;

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;

pub use decision::{Next, Page, Standing, decide};
pub use pending::Pending;
pub use request::{AuthorizationRequest, Params, Prompt, Rejection, ReplyTo, ResponseMode};

use crate::accounts::{self, UserStatus};
use crate::audit::{Audit, Event, Kind, Origin};
use crate::clients::ClientCache;
use crate::clock::SharedClock;
use crate::keys::KeyRing;
use crate::limits::Throttle;
use crate::oauth::code::{self, CodeGrant};
use crate::oauth::tokens::IdTokenHint;
use crate::oauth::{Error, consent};
use crate::random;
use crate::sessions::{self, Session};
use crate::settings::Issuer;
use crate::store::{EphemeralStore, Store};

/// What the browser is sent to next.
#[derive(Debug)]
pub enum Step {
    /// A page of the pipeline, for the pending request `request`.
    Show { page: Page, request: String },
    /// Back to the authorization endpoint, to decide again (after a page was completed).
    Resume { request: String },
    /// The code for the client (RFC 6749 §4.1.2).
    Code { reply: ReplyTo, code: String },
    /// An error for the client (§4.1.2.1), now that its redirect URI is trusted.
    Deny { reply: ReplyTo, error: Error },
    /// The pending request is gone, or belongs to another browser.
    Expired,
}

/// The browser as the pipeline sees it: its binding value and its session cookie.
#[derive(Debug, Clone, Copy)]
pub struct Browser<'a> {
    pub binding: &'a str,
    pub session: Option<&'a str>,
    /// Where the request comes from: the budget of pending requests, the audit log.
    pub origin: &'a Origin,
}

#[derive(Clone)]
pub struct Authorizer {
    pub db: DatabaseConnection,
    pub store: Store,
    pub clients: Arc<ClientCache>,
    pub keys: Arc<KeyRing>,
    pub issuer: Issuer,
    pub clock: SharedClock,
    pub code_ttl: Duration,
    pub throttle: Throttle,
    pub audit: Audit,
    /// A session of a user disabled since it began signs no one in: the CLI disables a
    /// user without reaching the session store, and this holds on every instance at once.
    pub users: UserStatus,
}

impl Authorizer {
    fn store(&self) -> &dyn EphemeralStore {
        self.store.as_ref()
    }

    /// A new authorization request. Errors before the client and redirect URI are trusted
    /// are `Err` (shown as a page, never redirected: §4.1.2.1).
    pub async fn start(&self, params: &Params, browser: Browser<'_>) -> Result<Step, Error> {
        let (request, client) = match request::validate(&self.db, &self.clients, params).await {
            Ok(valid) => valid,
            Err(Rejection::Page(e)) => return Err(e),
            Err(Rejection::Redirect(reply, error)) => return Ok(Step::Deny { reply, error }),
        };
        tracing::debug!(client_id = %client.id, "authorization request accepted");
        let mut pending = Pending {
            request,
            client_name: client.name,
            browser: random::digest(browser.binding),
            fresh_login: false,
            consent_given: false,
            hinted_user: None,
        };
        if let Some(token) = params.get("id_token_hint") {
            if let Err(error) = self.take_hint(&mut pending, token).await {
                return Ok(Step::Deny {
                    reply: pending.request.reply,
                    error,
                });
            }
        }
        self.proceed(pending, None, browser).await
    }

    /// OIDC Core §3.1.2.1: an id_token we issued to this client (expired is fine); the user
    /// it names must be the one signed in, and is suggested on the login page.
    async fn take_hint(&self, pending: &mut Pending, token: &str) -> Result<(), Error> {
        let hint = IdTokenHint::verify(&self.keys, &self.issuer, token)
            .filter(|h| h.aud == pending.request.client_id)
            .ok_or_else(|| {
                Error::invalid_request("id_token_hint is not an ID token issued to this client")
            })?;
        if pending.request.login_hint.is_none() {
            let user = accounts::store::find_by_id(&self.db, &hint.sub).await?;
            pending.request.login_hint = user.map(|u| u.email);
        }
        pending.hinted_user = Some(hint.sub);
        Ok(())
    }

    /// Decides again for a pending request, after one of its pages.
    pub async fn resume(&self, id: &str, browser: Browser<'_>) -> Result<Step, Error> {
        match self.pending(id, browser.binding).await? {
            Some(pending) => self.proceed(pending, Some(id), browser).await,
            None => Ok(Step::Expired),
        }
    }

    /// The pending request `id`, if this browser may continue it.
    pub async fn pending(&self, id: &str, binding: &str) -> Result<Option<Pending>, Error> {
        Ok(pending::load(self.store(), id, binding).await?)
    }

    /// The user signed in on the login page for this request.
    pub async fn signed_in(&self, id: &str, mut pending: Pending) -> Result<Step, Error> {
        pending.fresh_login = true;
        pending::update(self.store(), id, &pending).await?;
        Ok(Step::Resume {
            request: id.to_owned(),
        })
    }

    /// The user's answer on the consent page; allowed consent is remembered (widening what
    /// was granted before), a refusal is `access_denied` for the client.
    pub async fn consent(
        &self,
        id: &str,
        browser: Browser<'_>,
        user_id: &str,
        allow: bool,
    ) -> Result<Step, Error> {
        let Some(mut pending) = self.pending(id, browser.binding).await? else {
            return Ok(Step::Expired);
        };
        if !allow {
            self.forget(id).await;
            let error = Error::AccessDenied("the user denied the request".into());
            return Ok(Step::Deny {
                reply: pending.request.reply,
                error,
            });
        }
        let request = &pending.request;
        let now = self.clock.now();
        consent::remember(&self.db, user_id, &request.client_id, &request.scope, now).await?;
        let granted = Event::new(Kind::ConsentGranted)
            .user(user_id)
            .client(request.client_id.as_str())
            .with("scope", request.scope.to_string());
        self.audit.record(browser.origin, granted);
        pending.consent_given = true;
        pending::update(self.store(), id, &pending).await?;
        Ok(Step::Resume {
            request: id.to_owned(),
        })
    }

    /// The next step for `pending` (stored under `id` once it has been saved).
    async fn proceed(
        &self,
        pending: Pending,
        id: Option<&str>,
        browser: Browser<'_>,
    ) -> Result<Step, Error> {
        let session = self.live_session(browser.session).await?;
        let standing = self.standing(&pending, session.as_ref()).await?;
        match decide(&pending, session.as_ref(), standing, self.clock.now()) {
            Next::Issue(session) => {
                let code = self.issue_code(&pending, session).await?;
                if let Some(id) = id {
                    self.forget(id).await;
                }
                Ok(Step::Code {
                    reply: pending.request.reply,
                    code,
                })
            }
            Next::Fail(error) => {
                if let Some(id) = id {
                    self.forget(id).await;
                }
                Ok(Step::Deny {
                    reply: pending.request.reply,
                    error,
                })
            }
            Next::Show(page) => {
                let request = match id {
                    Some(id) => {
                        pending::update(self.store(), id, &pending).await?;
                        id.to_owned()
                    }
                    None => {
                        self.throttle.new_authorization(browser.origin).await?;
                        pending::save(self.store(), &pending).await?
                    }
                };
                Ok(Step::Show { page, request })
            }
        }
    }

    /// The browser's session, marked as used now (the account page shows it).
    async fn live_session(&self, cookie: Option<&str>) -> Result<Option<Session>, Error> {
        let Some(cookie) = cookie else {
            return Ok(None);
        };
        let now = self.clock.now();
        let Some(session) = sessions::find(self.store(), cookie, now).await? else {
            return Ok(None);
        };
        if !self.users.is_active(&self.db, &session.user_id).await? {
            return Ok(None);
        }
        // Ended between the read and now (a logout racing this request): not signed in.
        let live = sessions::touch(self.store(), cookie, &session, now).await?;
        Ok(live.then_some(session))
    }

    /// Whether consent is needed at all for this client, or is remembered for the scope;
    /// and whether the client waits for a verified email the user does not have.
    async fn standing(
        &self,
        pending: &Pending,
        session: Option<&Session>,
    ) -> Result<Standing, Error> {
        let request = &pending.request;
        let client = self
            .clients
            .get(&self.db, &request.client_id)
            .await?
            .ok_or_else(|| Error::invalid_request("the client no longer exists"))?;
        let Some(session) = session else {
            let consented = !client.require_consent;
            return Ok(Standing {
                consented,
                unverified_email: false,
            });
        };
        let consented = !client.require_consent
            || consent::covers(&self.db, &session.user_id, &client.id, &request.scope).await?;
        let unverified_email = client.require_verified_email
            && !accounts::store::find_by_id(&self.db, &session.user_id)
                .await?
                .is_some_and(|u| u.email_verified);
        Ok(Standing {
            consented,
            unverified_email,
        })
    }

    async fn issue_code(&self, pending: &Pending, session: &Session) -> Result<String, Error> {
        let request = &pending.request;
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
            idp: session.idp.clone(),
            expires_at: Some(self.clock.now().plus(self.code_ttl).secs()),
            resources: request.resources.clone(),
        };
        Ok(code::issue(self.store(), &grant, self.code_ttl).await?)
    }

    /// A finished request is dropped; if that fails it expires on its own (15 minutes) and
    /// only this browser could continue it, so the answer already due still goes out.
    async fn forget(&self, id: &str) {
        if let Err(e) = pending::drop(self.store(), id).await {
            tracing::warn!(
                error = format!("{e:#}"),
                "could not drop a finished request"
            );
        }
    }
}
