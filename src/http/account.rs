//! The user's own account: the account page (its sign-in form when signed out), and the
//! sign-in and session forms; the page's other forms are in [`super::account_forms`].

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use secrecy::SecretString;
use serde::Deserialize;

use super::cookies::{CookiePolicy, with_cookie};
use super::error::PageError;
use super::extract::{
    BrowserBinding, BrowserState, Caller, CsrfForm, CsrfProtected, CurrentUser, DeviceCookie,
    MaybeUser,
};
use super::reply;
use super::views::account::{AccountPage, Done, Shown};
use super::views::{self, AccountLoginPage};
use crate::accounts::Credentials;
use crate::federation::Federation;
use crate::oidc::account::Account;
use crate::oidc::session::{SignOn, SignedIn};
use crate::oidc::signin::{AccountStep, LoginPipeline};
use crate::paths;
use crate::selfservice::SelfService;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::ACCOUNT, web::get().to(account_page))
        .route(paths::ACCOUNT_SESSIONS, web::get().to(sessions_page))
        .route(paths::ACCOUNT_LOGIN, web::get().to(login_page))
        .route(paths::ACCOUNT_LOGIN, web::post().to(login_submit))
        .route(paths::ACCOUNT_SESSIONS_END, web::post().to(end));
}

fn login_form(
    csrf: &str,
    email: &str,
    error: Option<&str>,
    (next, signup, federation): (&str, bool, &Federation),
) -> HttpResponse {
    let providers = super::federation::links(federation, ("next", next));
    let page = AccountLoginPage {
        action: paths::ACCOUNT_LOGIN,
        csrf,
        next,
        email,
        error,
        signup,
        register_href: paths::REGISTER,
        forgot_href: paths::PASSWORD_FORGOT,
        providers,
    };
    views::render(StatusCode::OK, &page)
}

/// Where to go once signed in: `next` when it is a path of ours, else the account page.
fn local_path(next: &str) -> &str {
    local(next).unwrap_or(paths::ACCOUNT)
}

/// `next` if it is a path of ours (any other value, the empty one too, is `None`). A path
/// has one leading slash: `//host` and `/\host` are other sites to a browser.
pub(super) fn local(next: &str) -> Option<&str> {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && next.len() <= 2048
        && next.bytes().all(|b| b.is_ascii_graphic());
    local.then_some(next)
}

#[derive(Deserialize)]
struct NextQuery {
    #[serde(default)]
    next: String,
}

/// The sign-in form; `?next=` (a path of ours, such as a console page that sent the browser
/// here) is where it goes once signed in.
async fn login_page(
    binding: BrowserBinding,
    query: web::Query<NextQuery>,
    (service, federation): (web::Data<SelfService>, web::Data<Federation>),
) -> HttpResponse {
    let signup = service.signup_enabled;
    let next = local_path(&query.next);
    login_form(&binding.csrf, "", None, (next, signup, &federation))
}

#[derive(Deserialize)]
struct LoginForm {
    csrf: String,
    email: String,
    password: SecretString,
    #[serde(default)]
    next: String,
}

impl CsrfProtected for LoginForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[tracing::instrument(skip_all)]
async fn login_submit(
    CsrfForm { form, binding }: CsrfForm<LoginForm>,
    (browser, device): (BrowserState, DeviceCookie),
    (pipeline, service): (web::Data<LoginPipeline>, web::Data<SelfService>),
    (policy, federation): (web::Data<CookiePolicy>, web::Data<Federation>),
) -> Result<HttpResponse, PageError> {
    let next = local_path(&form.next);
    let credentials = Credentials {
        email: form.email.clone(),
        password: form.password,
    };
    let step = pipeline.account_password(
        browser.as_browser(),
        &credentials,
        device.0.as_deref(),
        next,
    );
    Ok(match step.await? {
        AccountStep::SignedIn(done) => {
            let response = reply::see_other(next);
            let response = with_cookie(response, &policy.session(done.cookie));
            with_cookie(response, &policy.device(done.device_token))
        }
        AccountStep::SecondFactor { challenge } => {
            reply::see_other(&super::second_factor::code_path(&challenge))
        }
        AccountStep::Retry => {
            let wrong = Some("Wrong email or password.");
            let signup = service.signup_enabled;
            login_form(
                &binding.csrf,
                &form.email,
                wrong,
                (next, signup, &federation),
            )
        }
    })
}

/// The account page for `me`, with what `shown` adds (a confirmation, a refused form).
pub(super) async fn show(
    me: &SignedIn,
    shown: Shown<'_>,
    account: &Account,
) -> Result<HttpResponse, PageError> {
    let overview = account.overview(&me.user.id).await?;
    Ok(views::render(
        StatusCode::OK,
        &AccountPage::new(me, shown, overview),
    ))
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

/// The account page; signed out, its sign-in form, which comes back here.
async fn account_page(
    MaybeUser(me): MaybeUser,
    binding: BrowserBinding,
    query: web::Query<DoneQuery>,
    (account, service, federation): (
        web::Data<Account>,
        web::Data<SelfService>,
        web::Data<Federation>,
    ),
) -> Result<HttpResponse, PageError> {
    let Some(me) = me else {
        let form = (paths::ACCOUNT, service.signup_enabled, &**federation);
        return Ok(login_form(&binding.csrf, "", None, form));
    };
    let shown = Shown {
        csrf: &binding.csrf,
        done: query.done.as_deref().and_then(Done::parse),
        ..Shown::default()
    };
    show(&me, shown, &account).await
}

/// The page's old address, kept for bookmarks (sessions are a section of the page); as
/// before, signed out it sends the browser to sign in.
async fn sessions_page(
    CurrentUser(me): CurrentUser,
    binding: BrowserBinding,
    account: web::Data<Account>,
) -> Result<HttpResponse, PageError> {
    let shown = Shown {
        csrf: &binding.csrf,
        ..Shown::default()
    };
    show(&me, shown, &account).await
}

#[derive(Deserialize)]
struct EndForm {
    csrf: String,
    sid: String,
}

impl CsrfProtected for EndForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Ends one of the user's own sessions (found by its public `sid`), with its tokens.
#[tracing::instrument(skip_all)]
async fn end(
    CsrfForm { form, .. }: CsrfForm<EndForm>,
    CurrentUser(me): CurrentUser,
    caller: Caller,
    sign_on: web::Data<SignOn>,
    policy: web::Data<CookiePolicy>,
) -> Result<HttpResponse, PageError> {
    let ended = sign_on.end_own(&me.user.id, &form.sid, &caller.0).await?;
    Ok(match ended {
        Some(id) if id == me.session_id => {
            let response = reply::see_other(paths::ACCOUNT);
            with_cookie(response, &policy.session_removal())
        }
        Some(_) => reply::see_other(&Done::Session.location()),
        None => reply::see_other(paths::ACCOUNT),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_own_paths_are_followed_after_sign_in() {
        assert_eq!(local_path("/account/sessions"), "/account/sessions");
        assert_eq!(
            local_path("/authorize?client_id=a"),
            "/authorize?client_id=a"
        );
        for foreign in [
            "",
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example/",
            "javascript:alert(1)",
            "/account\r\nSet-Cookie: x=1",
            "/caf\u{e9}",
        ] {
            assert_eq!(local_path(foreign), paths::ACCOUNT, "{foreign:?}");
        }
    }
}
