//! Signing in with an upstream provider: sending the browser there, its return to the
//! callback, and the account page's linking and unlinking.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::cookies::{CookiePolicy, with_cookie};
use super::error::PageError;
use super::extract::{BrowserBinding, BrowserState, CsrfForm, CsrfProtected, CurrentUser};
use super::views::federation::{FederationErrorPage, ProviderRow, ProvidersPage};
use super::{reply, views};
use crate::federation::signin::{self, Outcome};
use crate::federation::{Callback, Failed, Federation, FederationError, Purpose};
use crate::oauth::authorize::Authorizer;
use crate::oidc::challenge::Then;
use crate::oidc::second_factor::After;
use crate::oidc::signin::LoginPipeline;
use crate::paths;
use crate::settings::Issuer;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::FEDERATION_START, web::get().to(start))
        .route(paths::FEDERATION_CALLBACK, web::get().to(callback))
        .route(paths::ACCOUNT_PROVIDERS, web::get().to(providers_page))
        .route(paths::ACCOUNT_PROVIDERS_LINK, web::post().to(link))
        .route(paths::ACCOUNT_PROVIDERS_UNLINK, web::post().to(unlink));
}

#[derive(Deserialize)]
struct StartQuery {
    /// The pending authorization request the sign-in is for...
    request: Option<String>,
    /// ...or the page of ours to go to after it (the account page's sign-in).
    next: Option<String>,
}

/// Sends the browser to the upstream; an upstream that cannot be reached fails here.
async fn start(
    id: web::Path<String>,
    query: web::Query<StartQuery>,
    binding: BrowserBinding,
    (authorizer, federation): (web::Data<Authorizer>, web::Data<Federation>),
) -> Result<HttpResponse, PageError> {
    let then = match &query.request {
        Some(request) => {
            authorizer
                .pending(request, &binding.value)
                .await?
                .ok_or(PageError::Expired)?;
            Then::Authorize {
                request: request.clone(),
            }
        }
        None => Then::Go {
            path: local_next(query.next.as_deref()),
        },
    };
    let purpose = Purpose::SignIn { then };
    match federation.start(&id, purpose.clone(), &binding.value).await {
        Ok(url) => Ok(reply::see_other(url.as_str())),
        Err(error) => failure(&federation, &id, error, Some(&purpose)),
    }
}

fn local_next(next: Option<&str>) -> String {
    next.and_then(super::account::local)
        .unwrap_or(paths::ACCOUNT)
        .to_owned()
}

/// RFC 6749 §4.1.2 and §4.1.2.1, RFC 9207 §2: what the upstream sends back.
#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
}

/// The longest value of the callback's query we look at.
const MAX_CALLBACK_VALUE: usize = 4096;

impl CallbackQuery {
    fn bounded(self) -> Callback {
        let keep = |v: Option<String>| v.filter(|v| v.len() <= MAX_CALLBACK_VALUE);
        Callback {
            code: keep(self.code),
            state: keep(self.state),
            iss: keep(self.iss),
            error: keep(self.error),
        }
    }
}

#[tracing::instrument(skip_all, fields(provider = %id))]
async fn callback(
    id: web::Path<String>,
    query: web::Query<CallbackQuery>,
    state: BrowserState,
    (federation, pipeline): (web::Data<Federation>, web::Data<LoginPipeline>),
    (policy, issuer): (web::Data<CookiePolicy>, web::Data<Issuer>),
) -> Result<HttpResponse, PageError> {
    let callback = query.into_inner().bounded();
    let arrival = match federation
        .finish(&id, &callback, &state.binding.value)
        .await
    {
        Ok(arrival) => arrival,
        Err(Failed { error, purpose }) => {
            return failure(&federation, &id, error, purpose.as_ref());
        }
    };
    let purpose = arrival.purpose.clone();
    let signed_in = pipeline.sign_on.current(state.session.as_deref()).await?;
    let user = signed_in.as_ref().map(|s| s.user.id.as_str());
    let browser = state.as_browser();
    match signin::arrive(&federation, &pipeline, arrival, browser, user).await {
        Ok(outcome) => respond(outcome, &policy, &issuer),
        Err(error) => failure(&federation, &id, error, Some(&purpose)),
    }
}

fn respond(
    outcome: Outcome,
    policy: &CookiePolicy,
    issuer: &Issuer,
) -> Result<HttpResponse, PageError> {
    match outcome {
        Outcome::SignedIn {
            cookie,
            device_token,
            after,
        } => {
            let next = match after {
                After::Authorize(step) => reply::step(issuer, step)?,
                After::Go(path) => reply::see_other(&path),
            };
            let response = with_cookie(next, &policy.session(cookie));
            Ok(with_cookie(response, &policy.device(device_token)))
        }
        Outcome::SecondFactor { challenge } => Ok(reply::see_other(
            &super::second_factor::code_path(&challenge),
        )),
        Outcome::Linked => Ok(reply::see_other(&format!(
            "{}?done=linked",
            paths::ACCOUNT_PROVIDERS
        ))),
    }
}

/// The page for a round trip that stopped, with the way back to where it started. A
/// backend failure is our usual 503 page instead.
fn failure(
    federation: &Federation,
    id: &str,
    error: FederationError,
    purpose: Option<&Purpose>,
) -> Result<HttpResponse, PageError> {
    let name = federation.name_of(id).unwrap_or("the provider");
    let (status, title, message) = match error {
        FederationError::Service(e) => return Err(PageError::SignIn(e)),
        other => explain(&other, name),
    };
    tracing::info!(
        provider = id,
        status = status.as_u16(),
        "upstream sign-in stopped"
    );
    let (back_href, back_label) = back(purpose);
    let page = FederationErrorPage {
        title,
        message: &message,
        back_href: &back_href,
        back_label,
    };
    Ok(views::render(status, &page))
}

/// The status, title and words for each way an upstream sign-in stops.
fn explain(error: &FederationError, name: &str) -> (StatusCode, &'static str, String) {
    use FederationError as E;
    let bad = StatusCode::BAD_REQUEST;
    match error {
        E::UnknownProvider => (
            StatusCode::NOT_FOUND,
            "No such provider",
            "This sign-in option does not exist.".into(),
        ),
        E::Unreachable => (
            StatusCode::BAD_GATEWAY,
            "Provider unavailable",
            format!(
                "{name} cannot be reached right now. Try again in a moment, or sign in another way."
            ),
        ),
        E::Expired => (
            bad,
            "This sign-in has expired",
            "It was not started in this browser, or took too long. Start again.".into(),
        ),
        E::Denied(code) if code == "access_denied" => (
            StatusCode::FORBIDDEN,
            "Sign-in cancelled",
            format!("You did not sign in at {name}."),
        ),
        E::Denied(code) => (
            StatusCode::BAD_GATEWAY,
            "Sign-in failed",
            format!("{name} could not sign you in ({code})."),
        ),
        E::Rejected(why) => {
            tracing::warn!(
                provider = name,
                why = why.as_str(),
                "upstream answer refused"
            );
            (
                StatusCode::BAD_GATEWAY,
                "Sign-in failed",
                format!("The answer from {name} could not be verified, so you are not signed in."),
            )
        }
        E::NoAccount => (
            StatusCode::FORBIDDEN,
            "No account",
            format!(
                "No account here is linked to this {name} account. Sign in another way, then link {name} from your account page."
            ),
        ),
        E::EmailTaken => (
            StatusCode::CONFLICT,
            "Account exists",
            format!(
                "An account with this email exists already. Sign in with your password, then link {name} from your account page."
            ),
        ),
        E::NoEmail => (
            StatusCode::FORBIDDEN,
            "No email address",
            format!("{name} did not share an email address, which an account here needs."),
        ),
        E::LinkedElsewhere => (
            StatusCode::CONFLICT,
            "Linked to another account",
            format!("This {name} account is linked to another account here."),
        ),
        E::Disabled => (
            StatusCode::FORBIDDEN,
            "Account disabled",
            "This account cannot sign in.".into(),
        ),
        E::LastMethod => (
            StatusCode::CONFLICT,
            "Not unlinked",
            "It is your only way to sign in: set a password or link another provider first.".into(),
        ),
        E::Service(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Unavailable",
            "Please try again in a moment.".into(),
        ),
    }
}

/// Back to the sign-in page of the request (with the chooser, not the hinted provider
/// again), to the account's sign-in, or to the providers page.
fn back(purpose: Option<&Purpose>) -> (String, &'static str) {
    match purpose {
        Some(Purpose::SignIn {
            then: Then::Authorize { request },
        }) => (
            format!("{}?request={request}&choose=1", paths::LOGIN),
            "Back to sign-in",
        ),
        Some(Purpose::Link { .. }) => (
            paths::ACCOUNT_PROVIDERS.to_owned(),
            "Back to your providers",
        ),
        Some(Purpose::SignIn {
            then: Then::Go { path },
        }) => (sign_in_then(path), "Back to sign-in"),
        None => (paths::ACCOUNT_LOGIN.to_owned(), "Back to sign-in"),
    }
}

fn sign_in_then(next: &str) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("next", next)
        .finish();
    format!("{}?{query}", paths::ACCOUNT_LOGIN)
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
    CurrentUser(me): CurrentUser,
    federation: web::Data<Federation>,
) -> Result<HttpResponse, PageError> {
    let purpose = Purpose::Link {
        user_id: me.user.id.clone(),
    };
    match federation
        .start(&form.provider, purpose.clone(), &binding.value)
        .await
    {
        Ok(url) => Ok(reply::see_other(url.as_str())),
        Err(error) => failure(&federation, &form.provider, error, Some(&purpose)),
    }
}

/// Unlinks a provider, unless it is the user's last way to sign in.
async fn unlink(
    CsrfForm { form, binding }: CsrfForm<ProviderForm>,
    CurrentUser(me): CurrentUser,
    (federation, audit): (web::Data<Federation>, web::Data<LoginPipeline>),
    caller: super::extract::Caller,
) -> Result<HttpResponse, PageError> {
    match federation.unlink(&me.user.id, &form.provider).await {
        Ok(removed) => {
            if removed {
                let event = crate::audit::Event::new(crate::audit::Kind::IdentityUnlinked)
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
