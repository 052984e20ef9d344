//! The account's second-factor page: setting up an authenticator app, new recovery codes,
//! codes by email, and turning them off. A sign-in that needs a factor the user lacks sends
//! them here with `?next=`, which the setup forms carry and lead back to.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use secrecy::SecretString;
use serde::Deserialize;

use super::account::local;
use super::cookies::{CookiePolicy, with_cookie};
use super::error::PageError;
use super::extract::{BrowserBinding, Caller, CsrfForm, CsrfProtected, CurrentUser, SessionCookie};
use super::reply;
use super::views;
use super::views::mfa::{
    EMAIL_UNVERIFIED, MfaDone, MfaErrors, MfaForm, MfaPage, MfaShown, RecoveryCodesPage,
    WRONG_CODE, WRONG_PASSWORD,
};
use crate::oidc::account::Account;
use crate::oidc::account_factors::FactorRefused;
use crate::oidc::session::SignedIn;
use crate::paths;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::ACCOUNT_MFA, web::get().to(mfa_page))
        .route(paths::ACCOUNT_MFA_TOTP, web::post().to(begin_totp))
        .route(
            paths::ACCOUNT_MFA_TOTP_CONFIRM,
            web::post().to(confirm_totp),
        )
        .route(
            paths::ACCOUNT_MFA_TOTP_DISABLE,
            web::post().to(disable_totp),
        )
        .route(
            paths::ACCOUNT_MFA_RECOVERY_CODES,
            web::post().to(regenerate_codes),
        )
        .route(paths::ACCOUNT_MFA_EMAIL, web::post().to(email_codes));
}

/// The page for `me`, with what `shown` adds.
async fn show(
    me: &SignedIn,
    shown: MfaShown<'_>,
    account: &Account,
) -> Result<HttpResponse, PageError> {
    let status = account.factor_status(&me.user).await?;
    Ok(views::render(
        StatusCode::OK,
        &MfaPage::new(me, shown, status),
    ))
}

/// The page again after a post: keeping `next`, confirming `done`, at `section`.
fn page_location(next: Option<&str>, done: Option<MfaDone>, section: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if let Some(next) = next {
        query.append_pair("next", next);
    }
    if let Some(done) = done {
        query.append_pair("done", done.as_str());
    }
    match query.finish() {
        query if query.is_empty() => format!("{}#{section}", paths::ACCOUNT_MFA),
        query => format!("{}?{query}#{section}", paths::ACCOUNT_MFA),
    }
}

/// The page again with a refused form's error; nothing to change is just the page.
async fn refused(
    me: &SignedIn,
    (csrf, next): (&str, Option<&str>),
    (form, refused): (MfaForm, FactorRefused),
    account: &Account,
) -> Result<HttpResponse, PageError> {
    let message = match refused {
        FactorRefused::WrongPassword => WRONG_PASSWORD,
        FactorRefused::EmailUnverified => EMAIL_UNVERIFIED,
        FactorRefused::NoAuthenticator => return Ok(reply::see_other(paths::ACCOUNT_MFA)),
    };
    let shown = MfaShown {
        csrf,
        next,
        errors: MfaErrors::at(form, message),
        done: None,
    };
    show(me, shown, account).await
}

#[derive(Deserialize)]
struct PageQuery {
    #[serde(default)]
    next: String,
    done: Option<String>,
}

async fn mfa_page(
    CurrentUser(me): CurrentUser,
    binding: BrowserBinding,
    query: web::Query<PageQuery>,
    account: web::Data<Account>,
) -> Result<HttpResponse, PageError> {
    let shown = MfaShown {
        csrf: &binding.csrf,
        next: local(&query.next),
        done: query.done.as_deref().and_then(MfaDone::parse),
        ..MfaShown::default()
    };
    show(&me, shown, &account).await
}

#[derive(Deserialize)]
struct BeginForm {
    csrf: String,
    #[serde(default)]
    next: String,
}

impl CsrfProtected for BeginForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Starts setting up an authenticator app (again, with a new key, if one was begun).
#[tracing::instrument(skip_all)]
async fn begin_totp(
    CsrfForm { form, .. }: CsrfForm<BeginForm>,
    CurrentUser(me): CurrentUser,
    account: web::Data<Account>,
) -> Result<HttpResponse, PageError> {
    account.begin_totp(&me.user.id).await?;
    let location = page_location(local(&form.next), None, "authenticator");
    Ok(reply::see_other(&location))
}

#[derive(Deserialize)]
struct ConfirmForm {
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: String,
}

impl CsrfProtected for ConfirmForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The app's first code turns it on: the recovery codes are shown (once, so no redirect),
/// and the browser gets its session raised to two factors.
#[tracing::instrument(skip_all)]
async fn confirm_totp(
    CsrfForm { form, binding }: CsrfForm<ConfirmForm>,
    CurrentUser(me): CurrentUser,
    (caller, cookie): (Caller, SessionCookie),
    (account, policy): (web::Data<Account>, web::Data<CookiePolicy>),
) -> Result<HttpResponse, PageError> {
    let next = local(&form.next);
    let current = cookie.0.as_deref().unwrap_or_default();
    let enabled = account.confirm_totp(&me, current, &form.code, &caller.0);
    let Some(enabled) = enabled.await? else {
        let shown = MfaShown {
            csrf: &binding.csrf,
            next,
            errors: MfaErrors::at(MfaForm::Confirm, WRONG_CODE),
            done: None,
        };
        return show(&me, shown, &account).await;
    };
    let page = RecoveryCodesPage {
        codes: enabled.recovery_codes,
        set_up: true,
        continue_href: next.unwrap_or(paths::ACCOUNT_MFA),
    };
    let response = views::render(StatusCode::OK, &page);
    Ok(with_cookie(response, &policy.session(enabled.cookie)))
}

#[derive(Deserialize)]
struct PasswordForm {
    csrf: String,
    password: SecretString,
}

impl CsrfProtected for PasswordForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[tracing::instrument(skip_all)]
async fn disable_totp(
    CsrfForm { form, binding }: CsrfForm<PasswordForm>,
    CurrentUser(me): CurrentUser,
    caller: Caller,
    account: web::Data<Account>,
) -> Result<HttpResponse, PageError> {
    match account.remove_totp(&me, &form.password, &caller.0).await? {
        Ok(()) => {
            let location = page_location(None, Some(MfaDone::TotpOff), "authenticator");
            Ok(reply::see_other(&location))
        }
        Err(refusal) => {
            let why = (MfaForm::Disable, refusal);
            refused(&me, (&binding.csrf, None), why, &account).await
        }
    }
}

/// New recovery codes, shown once (so no redirect).
#[tracing::instrument(skip_all)]
async fn regenerate_codes(
    CsrfForm { form, binding }: CsrfForm<PasswordForm>,
    CurrentUser(me): CurrentUser,
    caller: Caller,
    account: web::Data<Account>,
) -> Result<HttpResponse, PageError> {
    match account
        .regenerate_codes(&me, &form.password, &caller.0)
        .await?
    {
        Ok(codes) => {
            let page = RecoveryCodesPage {
                codes,
                set_up: false,
                continue_href: paths::ACCOUNT_MFA,
            };
            Ok(views::render(StatusCode::OK, &page))
        }
        Err(refusal) => {
            let why = (MfaForm::Regenerate, refusal);
            refused(&me, (&binding.csrf, None), why, &account).await
        }
    }
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Toggle {
    On,
    Off,
}

#[derive(Deserialize)]
struct EmailForm {
    csrf: String,
    enabled: Toggle,
    /// Needed to turn codes off only.
    password: Option<SecretString>,
    #[serde(default)]
    next: String,
}

impl CsrfProtected for EmailForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Codes by email on (then on to `next`, whose sign-in can now ask for one) or off.
#[tracing::instrument(skip_all)]
async fn email_codes(
    CsrfForm { form, binding }: CsrfForm<EmailForm>,
    CurrentUser(me): CurrentUser,
    caller: Caller,
    account: web::Data<Account>,
) -> Result<HttpResponse, PageError> {
    let next = local(&form.next);
    let (changed, which) = match (form.enabled, &form.password) {
        (Toggle::On, _) => (
            account.email_codes_on(&me, &caller.0).await?,
            MfaForm::EmailOn,
        ),
        (Toggle::Off, Some(password)) => (
            account.email_codes_off(&me, password, &caller.0).await?,
            MfaForm::EmailOff,
        ),
        (Toggle::Off, None) => (Err(FactorRefused::WrongPassword), MfaForm::EmailOff),
    };
    let done = match form.enabled {
        Toggle::On => MfaDone::EmailOn,
        Toggle::Off => MfaDone::EmailOff,
    };
    match (changed, next) {
        (Ok(()), Some(next)) if form.enabled == Toggle::On => Ok(reply::see_other(next)),
        (Ok(()), _) => Ok(reply::see_other(&page_location(
            None,
            Some(done),
            "email-codes",
        ))),
        (Err(refusal), _) => refused(&me, (&binding.csrf, next), (which, refusal), &account).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_keeps_next_through_a_redirect() {
        assert_eq!(
            page_location(Some("/authorize/resume?request=a&b"), None, "authenticator"),
            "/account/mfa?next=%2Fauthorize%2Fresume%3Frequest%3Da%26b#authenticator"
        );
        assert_eq!(
            page_location(None, Some(MfaDone::EmailOff), "email-codes"),
            "/account/mfa?done=email-off#email-codes"
        );
        assert_eq!(page_location(None, None, "x"), "/account/mfa#x");
    }
}
