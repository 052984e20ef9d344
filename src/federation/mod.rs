//! Signing in with another provider: Gatehouse as the relying party of upstream OpenID
//! Connect and OAuth 2.0 providers (`[[federation.providers]]`), while it stays the OP of its
//! own clients. A sign-in goes to the upstream with PKCE, `state` and `nonce`, comes back to
//! `/federation/{id}/callback`, and becomes the first step of our sign-in pipeline (a second
//! factor may follow, see [`signin`]). The upstream account is linked to one user
//! ([`identities`]).

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;

mod error;
pub mod identities;
mod logout;
pub mod profile;
mod provider;
pub mod round_trip;
pub mod signin;
mod upstream;

pub use error::{Failed, FederationError, OUTCOMES, Unreachable};
pub use identities::{Found, Linked};
pub use profile::Identity;
use provider::Provider;
pub use round_trip::{Purpose, RoundTrip};

use crate::audit::Origin;
use crate::clock::SharedClock;
use crate::limits::Throttle;
use crate::metrics::{Metrics, UpstreamSignIns};
use crate::random;
use crate::settings::{FederationSettings, Issuer, LinkPolicy};
use crate::store::Store;

/// A provider as the sign-in page shows it.
#[derive(Debug, Clone)]
pub struct Button {
    pub id: String,
    pub name: String,
}

/// The callback's query (RFC 6749 §4.1.2 and §4.1.2.1, RFC 9207 §2).
#[derive(Debug, Default, Clone)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
}

/// A finished round trip: why it was made, and who signed in upstream.
pub struct Arrival {
    pub provider: String,
    pub purpose: Purpose,
    pub identity: Identity,
}

#[derive(Clone)]
pub struct Federation {
    inner: Arc<Inner>,
}

struct Inner {
    providers: Vec<Provider>,
    http: reqwest::Client,
    store: Store,
    db: DatabaseConnection,
    clock: SharedClock,
    issuer: Issuer,
    /// Each round trip counts as a sign-in attempt of its origin.
    throttle: Throttle,
    sign_ins: UpstreamSignIns,
}

impl Federation {
    pub fn new(
        settings: &FederationSettings,
        issuer: Issuer,
        (db, store, clock): (DatabaseConnection, Store, SharedClock),
        (throttle, metrics): (Throttle, &Metrics),
    ) -> anyhow::Result<Self> {
        let ids: Vec<String> = settings.providers.iter().map(|p| p.id.clone()).collect();
        let sign_ins = metrics.upstream_sign_ins(&ids, &OUTCOMES);
        let providers = settings
            .providers
            .iter()
            .cloned()
            .map(Provider::new)
            .collect::<anyhow::Result<Vec<_>>>()?;
        // No redirects: an upstream endpoint that redirects is not followed anywhere.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_millis(settings.timeout_ms))
            .user_agent(concat!("gatehouse/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let inner = Inner {
            providers,
            http,
            store,
            db,
            clock,
            issuer,
            throttle,
            sign_ins,
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Every provider, in configuration order.
    pub fn buttons(&self) -> Vec<Button> {
        self.inner
            .providers
            .iter()
            .map(|p| Button {
                id: p.id().to_owned(),
                name: p.name().to_owned(),
            })
            .collect()
    }

    pub fn name_of(&self, id: &str) -> Option<&str> {
        self.provider(id).ok().map(Provider::name)
    }

    fn provider(&self, id: &str) -> Result<&Provider, FederationError> {
        let found = self.inner.providers.iter().find(|p| p.id() == id);
        found.ok_or(FederationError::UnknownProvider)
    }

    /// Our callback for provider `id`, as registered at the upstream.
    pub fn callback_uri(&self, id: &str) -> String {
        format!("{}/federation/{id}/callback", self.inner.issuer.as_str())
    }

    /// Opens a round trip to provider `id` and returns where to send the browser. An
    /// upstream that cannot be reached fails here, on our page, before the browser leaves.
    pub async fn start(
        &self,
        id: &str,
        purpose: Purpose,
        browser: (&str, &Origin),
    ) -> Result<url::Url, FederationError> {
        let sent = self.open_round_trip(id, purpose, browser).await;
        if let Err(error) = &sent {
            self.count(id, error.kind());
        }
        sent
    }

    /// Counts a round trip to provider `id` that ended with `outcome` (one of [`OUTCOMES`]).
    pub fn count(&self, id: &str, outcome: &str) {
        self.inner.sign_ins.record(id, outcome);
    }

    async fn open_round_trip(
        &self,
        id: &str,
        purpose: Purpose,
        (binding, origin): (&str, &Origin),
    ) -> Result<url::Url, FederationError> {
        let provider = self.provider(id)?;
        let attempt = self.inner.throttle.sign_in_attempt(origin).await;
        attempt.map_err(|limited| FederationError::Service(limited.into()))?;
        let (nonce, verifier) = (random::token(), random::token() + &random::token());
        let trip = RoundTrip {
            provider: id.to_owned(),
            verifier,
            nonce,
            browser: random::digest(binding),
            purpose,
        };
        let state = round_trip::open(self.inner.store.as_ref(), &trip).await?;
        let redirect_uri = self.callback_uri(id);
        let leg = upstream::Leg {
            redirect_uri: &redirect_uri,
            state: &state,
            nonce: &trip.nonce,
            verifier: &trip.verifier,
        };
        let now = self.inner.clock.now();
        upstream::authorization_url(provider, &self.inner.http, now, &leg).await
    }

    /// Finishes the round trip the callback names: its `state` (once, this browser's), the
    /// upstream's `iss` (RFC 9207), then the code for who signed in upstream.
    pub async fn finish(
        &self,
        id: &str,
        callback: &Callback,
        binding: &str,
    ) -> Result<Arrival, Failed> {
        let arrived = self.close_round_trip(id, callback, binding).await;
        if let Err(failed) = &arrived {
            self.count(id, failed.error.kind());
        }
        arrived
    }

    async fn close_round_trip(
        &self,
        id: &str,
        callback: &Callback,
        binding: &str,
    ) -> Result<Arrival, Failed> {
        let provider = self.provider(id)?;
        let state = callback.state.as_deref().ok_or(FederationError::Expired)?;
        let store = self.inner.store.as_ref();
        let trip = round_trip::take(store, state, binding)
            .await?
            .filter(|trip| trip.provider == id)
            .ok_or(FederationError::Expired)?;
        let failed = |error: FederationError| Failed {
            error,
            purpose: Some(trip.purpose.clone()),
        };
        let now = self.inner.clock.now();
        let checked = self.check_iss(provider, callback.iss.as_deref(), now).await;
        checked.map_err(failed)?;
        if let Some(error) = &callback.error {
            return Err(failed(FederationError::Denied(bounded_code(error))));
        }
        let Some(code) = callback.code.as_deref() else {
            let missing = FederationError::Rejected("the answer has no code".into());
            return Err(failed(missing));
        };
        let redirect_uri = self.callback_uri(id);
        let leg = upstream::Leg {
            redirect_uri: &redirect_uri,
            state,
            nonce: &trip.nonce,
            verifier: &trip.verifier,
        };
        let redeemed = upstream::redeem(provider, &self.inner.http, now, &leg, code).await;
        let identity = redeemed.map_err(failed)?;
        Ok(Arrival {
            provider: id.to_owned(),
            purpose: trip.purpose,
            identity,
        })
    }

    /// RFC 9207 §2.4: an `iss` that is not the upstream's is refused; one missing is refused
    /// when the upstream says it always sends it.
    async fn check_iss(
        &self,
        provider: &Provider,
        iss: Option<&str>,
        now: crate::clock::UnixTime,
    ) -> Result<(), FederationError> {
        if !provider.is_oidc() {
            return Ok(());
        }
        let metadata = provider.metadata(&self.inner.http, now).await?;
        let expected = metadata.issuer().as_str();
        let required = metadata
            .additional_metadata()
            .authorization_response_iss_parameter_supported
            .unwrap_or(false);
        match iss {
            Some(iss) if iss != expected => Err(FederationError::Rejected(
                "the answer names another issuer (iss)".into(),
            )),
            None if required => Err(FederationError::Rejected(
                "the answer has no iss, which this provider always sends".into(),
            )),
            _ => Ok(()),
        }
    }

    /// The user an upstream sign-in is for, linking or creating as the provider allows.
    pub async fn resolve(&self, arrival: &Arrival) -> Result<Found, FederationError> {
        let policy = self.policy(&arrival.provider)?;
        let now = self.inner.clock.now();
        identities::resolve(
            &self.inner.db,
            &arrival.provider,
            policy,
            &arrival.identity,
            now,
        )
        .await
    }

    fn policy(&self, id: &str) -> Result<LinkPolicy, FederationError> {
        Ok(self.provider(id)?.settings.link)
    }

    /// Whether the provider is trusted to have asked for a second factor.
    pub fn trusted_mfa(&self, id: &str) -> bool {
        self.provider(id).is_ok_and(|p| p.settings.trusted_mfa)
    }

    /// Links the upstream account of `arrival` to `user_id` (from the account page).
    pub async fn link(&self, user_id: &str, arrival: &Arrival) -> Result<(), FederationError> {
        let now = self.inner.clock.now();
        let db = &self.inner.db;
        if let Some(linked) =
            identities::find(db, &arrival.provider, &arrival.identity.subject).await?
        {
            return match linked.user_id == user_id {
                true => Ok(()),
                false => Err(FederationError::LinkedElsewhere),
            };
        }
        match identities::insert(db, &arrival.provider, &arrival.identity, user_id, now).await? {
            true => Ok(()),
            false => Err(FederationError::LinkedElsewhere),
        }
    }

    /// Unlinks the user's account at `provider`, unless it is their last way to sign in
    /// (no password, no other provider).
    pub async fn unlink(&self, user_id: &str, provider: &str) -> Result<bool, FederationError> {
        let db = &self.inner.db;
        let linked = identities::of_user(db, user_id).await?;
        let others = linked.iter().filter(|l| l.provider != provider).count();
        if others == 0 && !crate::accounts::store::has_password(db, user_id).await? {
            return Err(FederationError::LastMethod);
        }
        Ok(identities::delete(db, user_id, provider).await?)
    }

    /// The user's linked upstream accounts.
    pub async fn linked(&self, user_id: &str) -> Result<Vec<Linked>, FederationError> {
        Ok(identities::of_user(&self.inner.db, user_id).await?)
    }
}

/// An upstream's `error` value, as we show it: a short token, or nothing of it.
fn bounded_code(error: &str) -> String {
    let token = error.len() <= 64 && error.chars().all(|c| c.is_ascii_graphic());
    if token {
        error.to_owned()
    } else {
        "an error".to_owned()
    }
}
