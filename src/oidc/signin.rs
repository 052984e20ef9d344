//! The steps of the sign-in pipeline that authenticate the user (OIDC Core §3.1.2.3): today
//! the password. Each step ends by handing the pending request back to the authorization
//! decision ([`Authorizer`]), so a later step (a second factor, an upstream provider) is one
//! more method here and one more page, with the handlers' shape unchanged.

use super::session::{PasswordBrowser, SignOn};
use crate::accounts::Credentials;
use crate::oauth::Error;
use crate::oauth::authorize::{Authorizer, Browser, Pending, Step};

#[derive(Clone)]
pub struct LoginPipeline {
    pub authorizer: Authorizer,
    pub sign_on: SignOn,
}

/// The outcome of the password step.
pub enum PasswordStep {
    /// Wrong email or password: show the form again for this request.
    Retry(Pending),
    /// Signed in: set the session cookie, then go on as the decision says.
    SignedIn {
        cookie: String,
        device_token: String,
        next: Step,
    },
    /// The pending request is gone or belongs to another browser.
    Expired,
}

impl LoginPipeline {
    /// Checks the password for pending request `id` and, when right, signs the browser in.
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
        let signed_in = self
            .sign_on
            .sign_in_with_password(
                PasswordBrowser {
                    session: browser.session,
                    device_token,
                },
                credentials,
                browser.origin,
            )
            .await?;
        let Some(signed_in) = signed_in else {
            return Ok(PasswordStep::Retry(pending));
        };
        let next = self.authorizer.signed_in(id, pending).await?;
        Ok(PasswordStep::SignedIn {
            cookie: signed_in.cookie,
            device_token: signed_in.device_token,
            next,
        })
    }
}
