//! The account page's forms: the profile, the password, and taking an application's access
//! back. A refused form shows the page again with the errors next to their fields.

use actix_web::{HttpResponse, web};
use secrecy::SecretString;
use serde::Deserialize;

use super::account::show;
use super::error::PageError;
use super::extract::{Caller, CsrfForm, CsrfProtected, CurrentUser};
use super::reply;
use super::views::account::{Done, FieldErrors, Shown};
use crate::accounts::DisplayName;
use crate::oidc::account::{Account, PasswordChange};
use crate::paths;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::ACCOUNT_PROFILE, web::post().to(profile))
        .route(paths::ACCOUNT_PASSWORD, web::post().to(password))
        .route(paths::ACCOUNT_APPS_REVOKE, web::post().to(revoke_app));
}

#[derive(Deserialize)]
struct ProfileForm {
    csrf: String,
    name: String,
}

impl CsrfProtected for ProfileForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[tracing::instrument(skip_all)]
async fn profile(
    CsrfForm { form, binding }: CsrfForm<ProfileForm>,
    CurrentUser(me): CurrentUser,
    caller: Caller,
    account: web::Data<Account>,
) -> Result<HttpResponse, PageError> {
    match DisplayName::parse(&form.name) {
        Ok(name) => {
            account.rename(&me, &name, &caller.0).await?;
            Ok(reply::see_other(&Done::Profile.location()))
        }
        Err(bad) => {
            let shown = Shown {
                csrf: &binding.csrf,
                name: Some(&form.name),
                errors: FieldErrors {
                    name: Some(bad.message().to_owned()),
                    ..FieldErrors::default()
                },
                ..Shown::default()
            };
            show(&me, shown, &account).await
        }
    }
}

#[derive(Deserialize)]
struct PasswordForm {
    csrf: String,
    current_password: SecretString,
    new_password: SecretString,
    confirm_password: SecretString,
}

impl CsrfProtected for PasswordForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[tracing::instrument(skip_all)]
async fn password(
    CsrfForm { form, binding }: CsrfForm<PasswordForm>,
    CurrentUser(me): CurrentUser,
    caller: Caller,
    account: web::Data<Account>,
) -> Result<HttpResponse, PageError> {
    let change = PasswordChange {
        current: form.current_password,
        new: form.new_password,
        confirm: form.confirm_password,
    };
    match account.change_password(&me, &change, &caller.0).await? {
        Ok(()) => Ok(reply::see_other(&Done::Password.location())),
        Err(refused) => {
            let shown = Shown {
                csrf: &binding.csrf,
                errors: FieldErrors::from(refused),
                ..Shown::default()
            };
            show(&me, shown, &account).await
        }
    }
}

#[derive(Deserialize)]
struct RevokeForm {
    csrf: String,
    client_id: String,
}

impl CsrfProtected for RevokeForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[tracing::instrument(skip_all)]
async fn revoke_app(
    CsrfForm { form, .. }: CsrfForm<RevokeForm>,
    CurrentUser(me): CurrentUser,
    caller: Caller,
    account: web::Data<Account>,
) -> Result<HttpResponse, PageError> {
    let revoked = account
        .revoke_app(&me.user.id, &form.client_id, &caller.0)
        .await?;
    Ok(match revoked {
        true => reply::see_other(&Done::App.location()),
        false => reply::see_other(paths::ACCOUNT),
    })
}
