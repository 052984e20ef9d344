//! The account page's sign-in providers: which are linked, linking one (a round trip to the
//! upstream) and unlinking one (never the last way to sign in).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::error::PageError;
use super::extract::{BrowserBinding, Caller, CsrfForm, CsrfProtected, CurrentUser};
use super::federation::failure;
use super::views::federation::{ProviderRow, ProvidersPage};
use super::{reply, views};
use crate::audit::{Event, Kind};
use crate::federation::{Federation, FederationError, Purpose};
use crate::oidc::signin::LoginPipeline;
use crate::paths;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::ACCOUNT_PROVIDERS, web::get().to(providers_page))
        .route(paths::ACCOUNT_PROVIDERS_LINK, web::post().to(link))
        .route(paths::ACCOUNT_PROVIDERS_UNLINK, web::post().to(unlink));
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn providers_page(
    CurrentUser(me): CurrentUser,
    binding: BrowserBinding,
    query: web::Query<DoneQuery>,
    federation: web::Data<Federation>,
) -> Result<HttpResponse, PageError> {
    let done = match query.done.as_deref() {
        Some("linked") => Some("Linked. You can sign in with it now."),
        Some("unlinked") => Some("Unlinked."),
        _ => None,
    };
    render_providers(&federation, &me.user, &binding.csrf, (done, None)).await
}

async fn render_providers(
    federation: &Federation,
    user: &crate::accounts::User,
    csrf: &str,
    (done, error): (Option<&str>, Option<&str>),
) -> Result<HttpResponse, PageError> {
    let linked = federation.linked(&user.id).await.map_err(service)?;
    let rows = federation
        .buttons()
        .into_iter()
        .map(|b| {
            let found = linked.iter().find(|l| l.provider == b.id);
            ProviderRow {
                linked: found.is_some(),
                email: found.and_then(|l| l.email.clone()).unwrap_or_default(),
                linked_on: found.map(|l| linked_on(l.linked_at)).unwrap_or_default(),
                id: b.id,
                name: b.name,
            }
        })
        .collect();
    let page = ProvidersPage {
        email: &user.email,
        csrf,
        rows,
        link_action: paths::ACCOUNT_PROVIDERS_LINK,
        unlink_action: paths::ACCOUNT_PROVIDERS_UNLINK,
        account_href: paths::ACCOUNT,
        done,
        error,
    };
    let status = if error.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    Ok(views::render(status, &page))
}

fn linked_on(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// A backend failure, as the usual 503 page; anything else is a refusal of the form.
fn service(error: FederationError) -> PageError {
    match error {
        FederationError::Service(e) => PageError::SignIn(e),
        other => PageError::SignIn(crate::oauth::Error::invalid_request(other.to_string())),
    }
}

#[derive(Deserialize)]
struct ProviderForm {
    csrf: String,
    provider: String,
}

impl CsrfProtected for ProviderForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Links a provider: off to the upstream, back to the providers page.
async fn link(
    CsrfForm { form, binding }: CsrfForm<ProviderForm>,
    (CurrentUser(me), caller): (CurrentUser, Caller),
    federation: web::Data<Federation>,
) -> Result<HttpResponse, PageError> {
    let purpose = Purpose::Link {
        user_id: me.user.id.clone(),
    };
    let sent = federation.start(&form.provider, purpose.clone(), (&binding.value, &caller.0));
    match sent.await {
        Ok(url) => Ok(reply::see_other(url.as_str())),
        Err(error) => failure(&federation, &form.provider, error, Some(&purpose)),
    }
}

/// Unlinks a provider, unless it is the user's last way to sign in.
async fn unlink(
    CsrfForm { form, binding }: CsrfForm<ProviderForm>,
    CurrentUser(me): CurrentUser,
    (federation, audit): (web::Data<Federation>, web::Data<LoginPipeline>),
    caller: Caller,
) -> Result<HttpResponse, PageError> {
    match federation.unlink(&me.user.id, &form.provider).await {
        Ok(removed) => {
            if removed {
                let event = Event::new(Kind::IdentityUnlinked)
                    .user(me.user.id.as_str())
                    .with("provider", form.provider.as_str());
                audit.sign_on.audit.record(&caller.0, event);
            }
            let to = format!("{}?done=unlinked", paths::ACCOUNT_PROVIDERS);
            Ok(reply::see_other(&to))
        }
        Err(FederationError::LastMethod) => {
            let refused = "It is your only way to sign in: set a password (through “Forgot your password?”) or link another provider first.";
            render_providers(&federation, &me.user, &binding.csrf, (None, Some(refused))).await
        }
        Err(other) => Err(service(other)),
    }
}
