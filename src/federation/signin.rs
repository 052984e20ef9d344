//! An arrival from the upstream, carried on: a sign-in becomes the first step of our
//! pipeline (for the user the link policy found), a link is added to the signed-in user.

use super::{Arrival, Federation, FederationError, Found, Purpose};
use crate::accounts;
use crate::audit::{Event, Kind};
use crate::oauth::authorize::Browser;
use crate::oidc::method::Upstream;
use crate::oidc::second_factor::After;
use crate::oidc::signin::LoginPipeline;
use crate::oidc::upstream_signin::UpstreamStep;

/// What the callback leads to.
pub enum Outcome {
    SignedIn {
        cookie: String,
        device_token: String,
        after: After,
    },
    SecondFactor {
        challenge: String,
    },
    /// The upstream account is now linked to the signed-in user.
    Linked,
}

/// Carries `arrival` on; `signed_in` is the user of the browser's session, if any.
pub async fn arrive(
    federation: &Federation,
    pipeline: &LoginPipeline,
    arrival: Arrival,
    browser: Browser<'_>,
    signed_in: Option<&str>,
) -> Result<Outcome, FederationError> {
    let provider = arrival.provider.clone();
    let outcome = carry_on(federation, pipeline, arrival, browser, signed_in).await;
    match &outcome {
        Ok(_) => federation.count(&provider, "success"),
        Err(error) => federation.count(&provider, error.kind()),
    }
    outcome
}

async fn carry_on(
    federation: &Federation,
    pipeline: &LoginPipeline,
    arrival: Arrival,
    browser: Browser<'_>,
    signed_in: Option<&str>,
) -> Result<Outcome, FederationError> {
    let then = match &arrival.purpose {
        Purpose::Link { user_id } => {
            // The session that asked for the link must still be the one here.
            if signed_in != Some(user_id.as_str()) {
                return Err(FederationError::Expired);
            }
            federation.link(user_id, &arrival).await?;
            let event = linked_event(user_id, &arrival.provider, "account_page");
            pipeline.sign_on.audit.record(browser.origin, event);
            return Ok(Outcome::Linked);
        }
        Purpose::SignIn { then } => then.clone(),
    };
    let found = federation.resolve(&arrival).await?;
    record_found(pipeline, &found, &arrival, browser);
    let db = &pipeline.sign_on.db;
    let user = accounts::store::find_by_id(db, found.user_id())
        .await?
        .ok_or(FederationError::NoAccount)?;
    if user.disabled {
        return Err(FederationError::Disabled);
    }
    let trusted_mfa = federation.trusted_mfa(&arrival.provider);
    let mut passed = pipeline.sign_on.passed_for(&user.id, &user.email);
    passed.upstream = Some(Upstream {
        provider: arrival.provider.clone(),
        amr: arrival.identity.amr.clone(),
        trusted_mfa,
    });
    let step = pipeline.upstream_signed_in(passed, then, browser, !trusted_mfa);
    Ok(match step.await? {
        UpstreamStep::SignedIn {
            cookie,
            device_token,
            after,
        } => Outcome::SignedIn {
            cookie,
            device_token,
            after,
        },
        UpstreamStep::SecondFactor { challenge } => Outcome::SecondFactor { challenge },
        UpstreamStep::Expired => return Err(FederationError::Expired),
    })
}

fn linked_event(user_id: &str, provider: &str, via: &'static str) -> Event {
    Event::new(Kind::IdentityLinked)
        .user(user_id)
        .with("provider", provider)
        .with("via", via)
}

/// The audit log records a link or an account made by this sign-in.
fn record_found(pipeline: &LoginPipeline, found: &Found, arrival: &Arrival, browser: Browser<'_>) {
    let audit = &pipeline.sign_on.audit;
    match found {
        Found::Linked(_) => {}
        Found::ByEmail(id) => {
            audit.record(
                browser.origin,
                linked_event(id, &arrival.provider, "verified_email"),
            );
        }
        Found::Created(id) => {
            let registered = Event::new(Kind::UserRegistered)
                .user(id.as_str())
                .with("provider", arrival.provider.as_str());
            audit.record(browser.origin, registered);
            audit.record(
                browser.origin,
                linked_event(id, &arrival.provider, "created"),
            );
        }
    }
}
