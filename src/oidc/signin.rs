//! The steps of the sign-in pipeline that authenticate the user (OIDC Core §3.1.2.3): the
//! password, then a second factor for a user who has one (see [`super::second_factor`]).
//! Each step ends by handing the pending request back to the authorization decision
//! ([`Authorizer`]); the account page's sign-in takes the same steps and then goes to a page
//! of ours instead.

use std::time::Duration;

use sea_orm::DatabaseConnection;

use super::challenge::{self, Challenge, Then};
use super::session::{Method, PasswordPassed, PasswordSignIn, SignOn};
use crate::accounts::Credentials;
use crate::audit::Origin;
use crate::limits::Throttle;
use crate::mail::{self, Mailer};
use crate::mfa::Factors;
use crate::oauth::Error;
use crate::oauth::authorize::{Authorizer, Browser, Pending, Step};
use crate::random;

#[derive(Clone)]
pub struct LoginPipeline {
    pub authorizer: Authorizer,
    pub sign_on: SignOn,
    pub factors: Factors,
    pub codes: CodeMail,
    /// Wrong codes one challenge may take (`mfa.attempts`).
    pub attempts: u32,
}

/// What mailing a sign-in code needs.
#[derive(Clone)]
pub struct CodeMail {
    pub db: DatabaseConnection,
    pub mailer: Mailer,
    pub throttle: Throttle,
    /// How long a mailed code works (`mfa.email_code_ttl_secs`).
    pub ttl: Duration,
}

/// The outcome of the password step of an authorization request.
pub enum PasswordStep {
    /// Wrong email or password: show the form again for this request.
    Retry(Box<Pending>),
    /// Signed in: set the session cookie, then go on as the decision says.
    SignedIn {
        cookie: String,
        device_token: String,
        next: Step,
    },
    /// The user has a second factor: its page, for this challenge, comes next.
    SecondFactor { challenge: String },
    /// The pending request is gone or belongs to another browser.
    Expired,
}

/// The outcome of the account page's password step.
pub enum AccountStep {
    Retry,
    SignedIn(PasswordSignIn),
    SecondFactor { challenge: String },
}

/// What follows a right password (or an upstream sign-in).
pub(super) enum AfterPassword {
    SignedIn(PasswordSignIn),
    Challenge(String),
}

impl LoginPipeline {
    /// Checks the password for pending request `id`; when right, signs the browser in, or
    /// opens the second-factor step for a user who has a factor.
    pub async fn password(
        &self,
        id: &str,
        browser: Browser<'_>,
        credentials: &Credentials,
        device_token: Option<&str>,
    ) -> Result<PasswordStep, Error> {
        let Some(pending) = self.authorizer.pending(id, browser.binding).await? else {
            return Ok(PasswordStep::Expired);
        };
        let checked = self
            .sign_on
            .check_password(device_token, credentials, browser.origin);
        let Some(passed) = checked.await? else {
            return Ok(PasswordStep::Retry(Box::new(pending)));
        };
        let then = Then::Authorize {
            request: id.to_owned(),
        };
        match self.after_password(passed, then, browser).await? {
            AfterPassword::Challenge(challenge) => Ok(PasswordStep::SecondFactor { challenge }),
            AfterPassword::SignedIn(done) => Ok(PasswordStep::SignedIn {
                cookie: done.cookie,
                device_token: done.device_token,
                next: self.authorizer.signed_in(id, pending).await?,
            }),
        }
    }

    /// The account page's sign-in: the same steps, then the page at `go`.
    pub async fn account_password(
        &self,
        browser: Browser<'_>,
        credentials: &Credentials,
        device_token: Option<&str>,
        go: &str,
    ) -> Result<AccountStep, Error> {
        let checked = self
            .sign_on
            .check_password(device_token, credentials, browser.origin);
        let Some(passed) = checked.await? else {
            return Ok(AccountStep::Retry);
        };
        let then = Then::Go {
            path: go.to_owned(),
        };
        Ok(match self.after_password(passed, then, browser).await? {
            AfterPassword::SignedIn(done) => AccountStep::SignedIn(done),
            AfterPassword::Challenge(challenge) => AccountStep::SecondFactor { challenge },
        })
    }

    /// Signs in a user without a second factor; for one with a factor, opens its challenge
    /// (mailing the code at once when email is the only factor).
    pub(super) async fn after_password(
        &self,
        passed: PasswordPassed,
        then: Then,
        browser: Browser<'_>,
    ) -> Result<AfterPassword, Error> {
        let enrolled = self.factors.enrolled(&passed.user_id).await?;
        if !enrolled.any() {
            let how = match passed.upstream {
                Some(_) => Method::Upstream,
                None => Method::Password,
            };
            let done = self
                .sign_on
                .complete(browser.session, &passed, how, browser.origin);
            return Ok(AfterPassword::SignedIn(done.await?));
        }
        let now = self.sign_on.clock.now();
        let mut challenge = Challenge::new(passed, browser.binding, then, now);
        if !enrolled.totp {
            self.mail_code(&mut challenge, browser.origin).await?;
        }
        let store = self.sign_on.store.as_ref();
        Ok(AfterPassword::Challenge(
            challenge::open(store, &challenge).await?,
        ))
    }

    /// Mails a new code for `challenge` (replacing one mailed before); `false` when the
    /// address has had its share of mail for now and nothing was sent.
    pub(super) async fn mail_code(
        &self,
        challenge: &mut Challenge,
        origin: &Origin,
    ) -> Result<bool, Error> {
        let user_id = &challenge.passed.user_id;
        let Some(user) = crate::accounts::store::find_by_id(&self.codes.db, user_id).await? else {
            return Ok(false);
        };
        let address = random::digest(&user.email);
        if !self.codes.throttle.mail_to(origin, &address).await? {
            return Ok(false);
        }
        let now = self.sign_on.clock.now();
        let (code, mailed) = challenge::new_mailed_code(&user.email, self.codes.ttl, now);
        let notice = mail::messages::sign_in_code(&code, self.codes.ttl);
        mail::enqueue(&self.codes.db, &notice.to(&user.email)?, now).await?;
        self.codes.mailer.wake();
        challenge.mailed = Some(mailed);
        Ok(true)
    }
}
