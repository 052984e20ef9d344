//! The second-factor step of the sign-in pipeline: after the password, a code from the
//! authenticator app (RFC 6238), one of the recovery codes, or a code sent by email; and the
//! step-up of a password-only session that a request needs more from (OIDC Core §3.1.2.1,
//! `acr_values`). A wrong code counts toward the account's lockout; too many end the
//! challenge, and the sign-in starts again from the password.

use super::challenge::{self, Challenge, Then};
use super::session::Method;
use super::signin::LoginPipeline;
use crate::mfa::Passed;
use crate::oauth::Error;
use crate::oauth::authorize::{Browser, Step};
use crate::paths;

/// The longest code anyone types (a recovery code with spaces): longer is wrong at once.
const MAX_CODE_CHARS: usize = 64;

/// What the code page offers.
#[derive(Debug, Clone)]
pub struct CodePrompt {
    /// An authenticator app is enrolled (and so are recovery codes).
    pub totp: bool,
    /// Codes by email are on.
    pub email: bool,
    /// Where the last code was mailed (masked), if one was.
    pub mailed_to: Option<String>,
}

/// Where a finished second-factor step leads.
pub enum After {
    /// The authorization request goes on.
    Authorize(Step),
    /// A page of ours.
    Go(String),
}

/// The outcome of a code typed on the page.
pub enum CodeStep {
    /// Wrong: the page again.
    Retry(CodePrompt),
    /// A code was mailed (unless the address had its share of mail): the page again.
    Sent(CodePrompt),
    /// Signed in: set the cookies and go on. No device token for a step-up (the browser
    /// already has one from its password sign-in).
    SignedIn {
        cookie: String,
        device_token: String,
        after: After,
    },
    /// Too many wrong codes (or the account is locked): sign in again from the start.
    StartOver(Then),
    /// The challenge is gone, finished, or belongs to another browser.
    Expired,
}

/// Where a request that needs a second factor goes.
pub enum StepUp {
    /// The code page, for this challenge.
    Challenge(String),
    /// The user has no factor: enrol one first, then come back to `next`.
    Enrol {
        next: String,
    },
    /// No live session after all: sign in.
    SignIn,
    Expired,
}

impl LoginPipeline {
    /// What the code page for challenge `id` shows, if this browser may see it.
    pub async fn code_prompt(&self, id: &str, binding: &str) -> Result<Option<CodePrompt>, Error> {
        let Some(challenge) = self.challenge(id, binding).await? else {
            return Ok(None);
        };
        Ok(Some(self.prompt_for(&challenge).await?))
    }

    /// Checks a typed code: the mailed one, a TOTP code or a recovery code.
    pub async fn submit_code(
        &self,
        id: &str,
        browser: Browser<'_>,
        typed: &str,
    ) -> Result<CodeStep, Error> {
        let Some(challenge) = self.challenge(id, browser.binding).await? else {
            return Ok(CodeStep::Expired);
        };
        let method = match self.sign_on.is_locked(&challenge.passed).await? {
            true => None,
            false => self.check_code(&challenge, typed).await?,
        };
        let Some(method) = method else {
            return self.code_failed(id, challenge, browser).await;
        };
        if !challenge::finish(self.sign_on.store.as_ref(), id).await? {
            return Ok(CodeStep::Expired);
        }
        let (passed, origin) = (&challenge.passed, browser.origin);
        let done = self
            .sign_on
            .complete(browser.session, passed, method, origin);
        let done = done.await?;
        let after = match challenge.then {
            Then::Go { path } => After::Go(path),
            Then::Authorize { request } => After::Authorize(self.resume(&request, browser).await?),
        };
        Ok(CodeStep::SignedIn {
            cookie: done.cookie,
            device_token: done.device_token,
            after,
        })
    }

    /// "Email me a code": mails a new code for challenge `id` when the user has email codes
    /// on. The page again either way (it says where the code went).
    pub async fn send_code(&self, id: &str, browser: Browser<'_>) -> Result<CodeStep, Error> {
        let Some(mut challenge) = self.challenge(id, browser.binding).await? else {
            return Ok(CodeStep::Expired);
        };
        let enrolled = self.factors.enrolled(&challenge.passed.user_id).await?;
        if enrolled.email && self.mail_code(&mut challenge, browser.origin).await? {
            let now = self.sign_on.clock.now();
            challenge::update(self.sign_on.store.as_ref(), id, &challenge, now).await?;
        }
        Ok(CodeStep::Sent(self.prompt_for(&challenge).await?))
    }

    /// A request that needs a second factor its password-only session lacks: the code
    /// page for a user who has a factor, else enrolment first.
    pub async fn step_up(&self, request: &str, browser: Browser<'_>) -> Result<StepUp, Error> {
        if self
            .authorizer
            .pending(request, browser.binding)
            .await?
            .is_none()
        {
            return Ok(StepUp::Expired);
        }
        let Some(signed_in) = self.sign_on.current(browser.session).await? else {
            return Ok(StepUp::SignIn);
        };
        let user = &signed_in.user;
        let enrolled = self.factors.enrolled(&user.id).await?;
        if !enrolled.any() {
            let next = format!("{}?request={request}", paths::AUTHORIZE_RESUME);
            return Ok(StepUp::Enrol { next });
        }
        let mut passed = self.sign_on.passed_for(&user.id, &user.email);
        passed.upstream = super::method::Upstream::resumed(&signed_in.session);
        let then = Then::Authorize {
            request: request.to_owned(),
        };
        let now = self.sign_on.clock.now();
        let mut challenge = Challenge::new(passed, browser.binding, then, now);
        challenge.step_up = true;
        if !enrolled.totp {
            self.mail_code(&mut challenge, browser.origin).await?;
        }
        let store = self.sign_on.store.as_ref();
        Ok(StepUp::Challenge(challenge::open(store, &challenge).await?))
    }

    async fn challenge(&self, id: &str, binding: &str) -> Result<Option<Challenge>, Error> {
        let (store, now) = (self.sign_on.store.as_ref(), self.sign_on.clock.now());
        Ok(challenge::load(store, id, binding, now).await?)
    }

    async fn prompt_for(&self, challenge: &Challenge) -> Result<CodePrompt, Error> {
        let enrolled = self.factors.enrolled(&challenge.passed.user_id).await?;
        Ok(CodePrompt {
            totp: enrolled.totp,
            email: enrolled.email,
            mailed_to: challenge.mailed.as_ref().map(|m| m.to.clone()),
        })
    }

    /// Which method a typed code proves, if any: the mailed code first (it is only ever
    /// digits, and never collides with a recovery code), then the factors.
    async fn check_code(
        &self,
        challenge: &Challenge,
        typed: &str,
    ) -> Result<Option<Method>, Error> {
        if typed.chars().count() > MAX_CODE_CHARS {
            return Ok(None);
        }
        if challenge.mailed_code_matches(typed, self.sign_on.clock.now()) {
            return Ok(Some(Method::PasswordAndEmailCode));
        }
        let user_id = &challenge.passed.user_id;
        Ok(match self.factors.check(user_id, typed).await? {
            Some(Passed::Totp) => Some(Method::PasswordAndTotp),
            Some(Passed::RecoveryCode) => Some(Method::PasswordAndRecoveryCode),
            None => None,
        })
    }

    /// Counts a wrong code; past `mfa.attempts` (or with the account now locked) the
    /// challenge ends.
    async fn code_failed(
        &self,
        id: &str,
        mut challenge: Challenge,
        browser: Browser<'_>,
    ) -> Result<CodeStep, Error> {
        let (store, now) = (self.sign_on.store.as_ref(), self.sign_on.clock.now());
        challenge.failures += 1;
        let passed = &challenge.passed;
        self.sign_on
            .factor_failed(passed, "wrong_code", browser.origin)
            .await?;
        if challenge.failures >= self.attempts || self.sign_on.is_locked(passed).await? {
            challenge::finish(store, id).await?;
            return Ok(CodeStep::StartOver(challenge.then));
        }
        challenge::update(store, id, &challenge, now).await?;
        Ok(CodeStep::Retry(self.prompt_for(&challenge).await?))
    }

    /// The pending request goes on now that the user is signed in.
    pub(super) async fn resume(&self, request: &str, browser: Browser<'_>) -> Result<Step, Error> {
        match self.authorizer.pending(request, browser.binding).await? {
            Some(pending) => self.authorizer.signed_in(request, pending).await,
            None => Ok(Step::Expired),
        }
    }
}
