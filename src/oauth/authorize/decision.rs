//! The sign-in pipeline's decision (OIDC Core §3.1.2.3–§3.1.2.4): given the browser's
//! session and what the user already agreed to, which step comes next. Pure, so every
//! combination of `prompt`, `max_age`, session and consent is tested here.

use super::Pending;
use crate::clock::UnixTime;
use crate::oauth::{Error, acr};
use crate::sessions::Session;

/// A page of the sign-in pipeline that a pending request waits on. A new login step (a
/// second factor, an upstream provider, enrolment) is a new variant and its page: the
/// handlers only map a page to its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Login,
    Consent,
    /// The client requires a verified email and the user's is not (yet).
    VerifyEmail,
    /// The request needs a second factor the session has not proven (a step-up; the user
    /// without a factor enrols one first).
    SecondFactor,
}

/// What the pipeline knows of the signed-in user's standing with this client.
#[derive(Debug, Clone, Copy, Default)]
pub struct Standing {
    /// Remembered consent covers the scope (or the client asks for none).
    pub consented: bool,
    /// The client requires a verified email, and the user's is not.
    pub unverified_email: bool,
}

/// What happens next for a request.
#[derive(Debug)]
pub enum Next<'s> {
    Show(Page),
    /// Issue the code for this session.
    Issue(&'s Session),
    /// Answer the client with this error (`prompt=none` could not be satisfied).
    Fail(Error),
}

/// Authenticate unless a session is good enough; `prompt=none` must not show a page. A
/// request that needs a second factor asks for it once signed in; a client that requires a
/// verified email waits for it after that, before consent.
pub fn decide<'s>(
    pending: &Pending,
    session: Option<&'s Session>,
    standing: Standing,
    now: UnixTime,
) -> Next<'s> {
    let request = &pending.request;
    let too_old = |s: &Session| {
        request
            .max_age
            .is_some_and(|max| now.secs() - s.auth_time > max)
    };
    let hinted = |s: &Session| pending.hinted_user.as_ref().is_none_or(|u| *u == s.user_id);
    let session = session
        .filter(|s| pending.fresh_login || !(request.prompt.login || too_old(s) || !hinted(s)));
    let needs_consent = !pending.consent_given && (request.prompt.consent || !standing.consented);
    let short_of_mfa = |s: &Session| request.mfa_required && !acr::has_mfa(&s.amr);
    match (session, needs_consent, request.prompt.none) {
        (None, _, true) => Next::Fail(Error::LoginRequired("the user is not signed in".into())),
        (None, _, false) => Next::Show(Page::Login),
        (Some(s), _, true) if short_of_mfa(s) => Next::Fail(Error::LoginRequired(
            "the request needs a second factor".into(),
        )),
        (Some(s), _, false) if short_of_mfa(s) => Next::Show(Page::SecondFactor),
        (Some(_), _, true) if standing.unverified_email => Next::Fail(Error::InteractionRequired(
            "the client requires a verified email address".into(),
        )),
        (Some(_), _, false) if standing.unverified_email => Next::Show(Page::VerifyEmail),
        (Some(_), true, true) => {
            Next::Fail(Error::ConsentRequired("the user has not consented".into()))
        }
        (Some(_), true, false) => Next::Show(Page::Consent),
        (Some(session), false, _) => Next::Issue(session),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::Scopes;
    use crate::oauth::authorize::{AuthorizationRequest, Prompt, ReplyTo, ResponseMode};

    const NOW: i64 = 1_700_000_000;

    fn pending(prompt: Prompt, max_age: Option<i64>) -> Pending {
        Pending {
            request: AuthorizationRequest {
                client_id: "c".into(),
                reply: ReplyTo {
                    redirect_uri: "https://app.example/cb".into(),
                    state: None,
                    response_mode: ResponseMode::Query,
                },
                redirect_uri_given: true,
                scope: Scopes::parse("openid").unwrap(),
                nonce: None,
                pkce: None,
                prompt,
                max_age,
                login_hint: None,
                resources: Default::default(),
                acr_values: vec![],
                mfa_required: false,
                idp_hint: None,
            },
            client_name: "C".into(),
            browser: "b".into(),
            fresh_login: false,
            consent_given: false,
            hinted_user: None,
        }
    }

    fn session(auth_time: i64) -> Session {
        Session {
            sid: "sid".into(),
            user_id: "u".into(),
            auth_time,
            amr: vec!["pwd".into()],
            idp: None,
            created_at: auth_time,
            last_seen: auth_time,
            expires_at: NOW + 3600,
            user_agent: String::new(),
            ip: String::new(),
        }
    }

    fn next(p: &Pending, s: Option<&Session>, consented: bool) -> String {
        let standing = Standing {
            consented,
            unverified_email: false,
        };
        match decide(p, s, standing, UnixTime::from_secs(NOW)) {
            Next::Show(page) => format!("{page:?}"),
            Next::Issue(_) => "Issue".into(),
            Next::Fail(e) => e.code().into(),
        }
    }

    #[test]
    fn an_unverified_email_waits_after_sign_in_and_before_consent() {
        let unverified = Standing {
            consented: false,
            unverified_email: true,
        };
        let decided = |p: &Pending, s: Option<&Session>| match decide(
            p,
            s,
            unverified,
            UnixTime::from_secs(NOW),
        ) {
            Next::Show(page) => format!("{page:?}"),
            Next::Issue(_) => "Issue".into(),
            Next::Fail(e) => e.code().into(),
        };
        let s = session(NOW - 10);
        let p = pending(Prompt::default(), None);
        assert_eq!(decided(&p, None), "Login");
        assert_eq!(decided(&p, Some(&s)), "VerifyEmail");
        let none = Prompt {
            none: true,
            ..Prompt::default()
        };
        assert_eq!(
            decided(&pending(none, None), Some(&s)),
            "interaction_required"
        );
        assert_eq!(decided(&pending(none, None), None), "login_required");
    }

    #[test]
    fn a_request_needing_mfa_asks_a_password_session_for_the_second_factor() {
        let mut p = pending(Prompt::default(), None);
        p.request.mfa_required = true;
        let password_only = session(NOW - 10);
        let mut with_mfa = session(NOW - 10);
        with_mfa.amr = vec!["pwd".into(), "otp".into(), "mfa".into()];
        assert_eq!(next(&p, None, true), "Login");
        assert_eq!(next(&p, Some(&password_only), true), "SecondFactor");
        assert_eq!(next(&p, Some(&with_mfa), true), "Issue");
        p.request.prompt.none = true;
        assert_eq!(next(&p, Some(&password_only), true), "login_required");
        assert_eq!(next(&p, Some(&with_mfa), true), "Issue");
    }

    #[test]
    fn no_session_asks_for_login_or_fails_with_prompt_none() {
        assert_eq!(next(&pending(Prompt::default(), None), None, true), "Login");
        let none = Prompt {
            none: true,
            ..Prompt::default()
        };
        assert_eq!(next(&pending(none, None), None, true), "login_required");
    }

    #[test]
    fn a_session_with_consent_issues_and_without_asks() {
        let s = session(NOW - 10);
        let p = pending(Prompt::default(), None);
        assert_eq!(next(&p, Some(&s), true), "Issue");
        assert_eq!(next(&p, Some(&s), false), "Consent");
        let none = Prompt {
            none: true,
            ..Prompt::default()
        };
        assert_eq!(
            next(&pending(none, None), Some(&s), false),
            "consent_required"
        );
        assert_eq!(next(&pending(none, None), Some(&s), true), "Issue");
    }

    #[test]
    fn prompt_login_and_max_age_need_a_fresh_login() {
        let s = session(NOW - 10);
        let login = Prompt {
            login: true,
            ..Prompt::default()
        };
        let mut p = pending(login, None);
        assert_eq!(next(&p, Some(&s), true), "Login");
        p.fresh_login = true;
        assert_eq!(next(&p, Some(&s), true), "Issue");
        assert_eq!(
            next(&pending(Prompt::default(), Some(5)), Some(&s), true),
            "Login"
        );
        assert_eq!(
            next(&pending(Prompt::default(), Some(60)), Some(&s), true),
            "Issue"
        );
        assert_eq!(
            next(
                &pending(Prompt::default(), Some(0)),
                Some(&session(NOW)),
                true
            ),
            "Issue"
        );
    }

    #[test]
    fn a_hint_naming_someone_else_needs_a_login() {
        let s = session(NOW - 10);
        let mut p = pending(Prompt::default(), None);
        p.hinted_user = Some("someone-else".into());
        assert_eq!(next(&p, Some(&s), true), "Login");
        let none = Prompt {
            none: true,
            ..Prompt::default()
        };
        let mut quiet = pending(none, None);
        quiet.hinted_user = Some("someone-else".into());
        assert_eq!(next(&quiet, Some(&s), true), "login_required");
        quiet.hinted_user = Some("u".into());
        assert_eq!(next(&quiet, Some(&s), true), "Issue");
        p.fresh_login = true;
        assert_eq!(next(&p, Some(&s), true), "Issue", "whoever just signed in");
    }

    #[test]
    fn prompt_consent_asks_until_given() {
        let s = session(NOW - 10);
        let consent = Prompt {
            consent: true,
            ..Prompt::default()
        };
        let mut p = pending(consent, None);
        assert_eq!(next(&p, Some(&s), true), "Consent");
        p.consent_given = true;
        assert_eq!(next(&p, Some(&s), true), "Issue");
    }
}
