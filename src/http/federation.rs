//! Signing in with an upstream provider: sending the browser there, its return to the
//! callback, and the account page's linking and unlinking.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::cookies::{CookiePolicy, with_cookie};
use super::error::PageError;
use super::extract::{BrowserBinding, BrowserState, Caller};
use super::views::federation::{FederationErrorPage, ProviderLink};
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
        .route(paths::FEDERATION_LOGGED_OUT, web::get().to(logged_out));
}

/// A link per provider to start its sign-in, carrying `(name, value)` of the query: the
/// pending `request`, or the account page's `next`.
pub(super) fn links(federation: &Federation, carried: (&str, &str)) -> Vec<ProviderLink> {
    let link = |b: crate::federation::Button| ProviderLink {
        href: start_href(&b.id, carried),
        label: format!("Sign in with {}", b.name),
        id: b.id,
    };
    federation.buttons().into_iter().map(link).collect()
}

/// Where provider `id`'s sign-in starts, carrying `(name, value)` of the query.
pub(super) fn start_href(id: &str, (name, value): (&str, &str)) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair(name, value)
        .finish();
    format!("{}?{query}", paths::fill(paths::FEDERATION_START, &[id]))
}

#[derive(Deserialize)]
struct StartQuery {
    /// The pending authorization request (this browser's) the sign-in is for...
    request: Option<String>,
    /// ...or the page of ours to go to after it (the account page's sign-in).
    next: Option<String>,
}

/// Sends the browser to the upstream; an upstream that cannot be reached fails here.
async fn start(
    id: web::Path<String>,
    query: web::Query<StartQuery>,
    (binding, caller): (BrowserBinding, Caller),
    (authorizer, federation): (web::Data<Authorizer>, web::Data<Federation>),
) -> Result<HttpResponse, PageError> {
    let then = match query.into_inner() {
        StartQuery {
            request: Some(request),
            ..
        } => {
            let pending = authorizer.pending(&request, &binding.value).await?;
            pending.ok_or(PageError::Expired)?;
            Then::Authorize { request }
        }
        StartQuery { next, .. } => Then::Go {
            path: next
                .as_deref()
                .and_then(super::account::local)
                .unwrap_or(paths::ACCOUNT)
                .to_owned(),
        },
    };
    let purpose = Purpose::SignIn { then };
    let sent = federation.start(&id, purpose.clone(), (&binding.value, &caller.0));
    match sent.await {
        Ok(url) => Ok(reply::see_other(url.as_str())),
        Err(error) => failure(&federation, &id, error, Some(&purpose)),
    }
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
pub(super) fn failure(
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

/// What the page says for each way an upstream sign-in stops (by [`FederationError::kind`]):
/// status, title and words (`{name}` is the provider's name, `{code}` the upstream's error).
const STOPS: [(&str, StatusCode, &str, &str); 13] = [
    (
        "unknown",
        StatusCode::NOT_FOUND,
        "No such provider",
        "This sign-in option does not exist.",
    ),
    (
        "unreachable",
        StatusCode::BAD_GATEWAY,
        "Provider unavailable",
        "{name} cannot be reached right now. Try again in a moment, or sign in another way.",
    ),
    (
        "expired",
        StatusCode::BAD_REQUEST,
        "This sign-in has expired",
        "It was not started in this browser, or took too long. Start again.",
    ),
    (
        "cancelled",
        StatusCode::FORBIDDEN,
        "Sign-in cancelled",
        "You did not sign in at {name}.",
    ),
    (
        "denied",
        StatusCode::BAD_GATEWAY,
        "Sign-in failed",
        "{name} could not sign you in ({code}).",
    ),
    (
        "rejected",
        StatusCode::BAD_GATEWAY,
        "Sign-in failed",
        "The answer from {name} could not be verified, so you are not signed in.",
    ),
    (
        "no_account",
        StatusCode::FORBIDDEN,
        "No account",
        "No account here is linked to this {name} account. Sign in another way, then link {name} from your account page.",
    ),
    (
        "email_taken",
        StatusCode::CONFLICT,
        "Account exists",
        "An account with this email exists already. Sign in with your password, then link {name} from your account page.",
    ),
    (
        "no_email",
        StatusCode::FORBIDDEN,
        "No email address",
        "{name} did not share an email address, which an account here needs.",
    ),
    (
        "linked_elsewhere",
        StatusCode::CONFLICT,
        "Linked to another account",
        "This {name} account is linked to another account here.",
    ),
    (
        "disabled",
        StatusCode::FORBIDDEN,
        "Account disabled",
        "This account cannot sign in.",
    ),
    (
        "last_method",
        StatusCode::CONFLICT,
        "Not unlinked",
        "It is your only way to sign in: set a password or link another provider first.",
    ),
    (
        "unavailable",
        StatusCode::SERVICE_UNAVAILABLE,
        "Unavailable",
        "Please try again in a moment.",
    ),
];

/// The status, title and words of the page for `error`.
fn explain(error: &FederationError, name: &str) -> (StatusCode, &'static str, String) {
    if let FederationError::Rejected(why) = error {
        tracing::warn!(
            provider = name,
            why = why.as_str(),
            "upstream answer refused"
        );
    }
    let kind = error.kind();
    let found = STOPS.iter().find(|stop| stop.0 == kind);
    let (_, status, title, words) = *found.unwrap_or(&STOPS[STOPS.len() - 1]);
    let code = match error {
        FederationError::Denied(code) => code.as_str(),
        _ => "",
    };
    (
        status,
        title,
        words.replace("{name}", name).replace("{code}", code),
    )
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
        }) => (super::error::sign_in_then(path), "Back to sign-in"),
        None => (paths::ACCOUNT_LOGIN.to_owned(), "Back to sign-in"),
    }
}

#[derive(Deserialize)]
struct LoggedOutQuery {
    state: Option<String>,
}

/// Back from the upstream's sign-out: on to where our sign-out was going. An unknown
/// `state` goes nowhere else than our "signed out" page.
async fn logged_out(
    query: web::Query<LoggedOutQuery>,
    federation: web::Data<Federation>,
) -> HttpResponse {
    let state = query
        .state
        .as_deref()
        .filter(|s| s.len() <= MAX_CALLBACK_VALUE);
    let after = match state {
        Some(state) => federation.logged_out(state).await.flatten(),
        None => None,
    };
    match after {
        Some(url) => reply::found(&url),
        None => super::logout::signed_out_page(),
    }
}
