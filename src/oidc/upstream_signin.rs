//! The pipeline after a first step taken elsewhere: an upstream provider signed the user in
//! (see `federation`). As after a right password, a user with a second factor is asked for
//! it, unless the provider is trusted to have asked for one.

use super::challenge::Then;
use super::second_factor::After;
use super::session::{Method, PasswordPassed};
use super::signin::{AfterPassword, LoginPipeline};
use crate::oauth::Error;
use crate::oauth::authorize::Browser;

/// What follows an upstream sign-in.
pub enum UpstreamStep {
    SignedIn {
        cookie: String,
        device_token: String,
        after: After,
    },
    SecondFactor {
        challenge: String,
    },
    /// The pending request is gone or belongs to another browser.
    Expired,
}

impl LoginPipeline {
    /// Goes on after an upstream sign-in of `passed` (its `upstream` set); `ask_factor`
    /// is false for a provider trusted to have asked for a second factor itself.
    pub async fn upstream_signed_in(
        &self,
        passed: PasswordPassed,
        then: Then,
        browser: Browser<'_>,
        ask_factor: bool,
    ) -> Result<UpstreamStep, Error> {
        if let Then::Authorize { request } = &then {
            if self
                .authorizer
                .pending(request, browser.binding)
                .await?
                .is_none()
            {
                return Ok(UpstreamStep::Expired);
            }
        }
        let step = match ask_factor {
            true => self.after_password(passed, then.clone(), browser).await?,
            false => {
                let (session, origin) = (browser.session, browser.origin);
                let done = self
                    .sign_on
                    .complete(session, &passed, Method::Upstream, origin);
                AfterPassword::SignedIn(done.await?)
            }
        };
        let done = match step {
            AfterPassword::Challenge(challenge) => {
                return Ok(UpstreamStep::SecondFactor { challenge });
            }
            AfterPassword::SignedIn(done) => done,
        };
        let after = match then {
            Then::Go { path } => After::Go(path),
            Then::Authorize { request } => After::Authorize(self.resume(&request, browser).await?),
        };
        Ok(UpstreamStep::SignedIn {
            cookie: done.cookie,
            device_token: done.device_token,
            after,
        })
    }
}
