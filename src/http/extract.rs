//! Typed extractors: what a handler needs from a request, checked once here. Client
//! authentication happens in [`AuthenticatedClient`] and nowhere else; CSRF is checked by
//! [`CsrfForm`]; who is signed in is [`MaybeUser`] / [`CurrentUser`].

use std::future::{Future, Ready, ready};
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use serde::de::DeserializeOwned;

use super::cookies::{CookiePolicy, NewBinding};
use super::error::PageError;
use super::wire;
use crate::audit::Origin;
use crate::clients::Client;
use crate::oauth::Error;
use crate::oauth::authorize::{Browser, Params};
use crate::oauth::client_auth::{self, ClientAuthenticator};
use crate::oidc::session::{SignOn, SignedIn};
use crate::proxies::TrustedProxies;
use tracing_actix_web::RequestId;

type Extracted<T> = Pin<Box<dyn Future<Output = Result<T, actix_web::Error>>>>;

/// A dependency `startup` registers; missing means a wiring mistake of ours (500).
fn registered<T: 'static>(req: &HttpRequest) -> Result<web::Data<T>, Error> {
    req.app_data::<web::Data<T>>().cloned().ok_or_else(|| {
        Error::Unexpected(anyhow::anyhow!(
            "{} is not registered",
            std::any::type_name::<T>()
        ))
    })
}

/// This browser's binding value (double-submit CSRF, pending-request binding) and the CSRF
/// value its forms carry. A browser without one gets a new one, set on the response by
/// [`super::cookies::set_new_binding`].
pub struct BrowserBinding {
    pub value: String,
    pub csrf: String,
}

impl FromRequest for BrowserBinding {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            registered::<CookiePolicy>(req)
                .map_err(Into::into)
                .map(|policy| {
                    let value = wire::cookie(req, &policy.binding_name).unwrap_or_else(|| {
                        let value = crate::random::token();
                        req.extensions_mut().insert(NewBinding(value.clone()));
                        value
                    });
                    Self {
                        csrf: policy.csrf_value(&value),
                        value,
                    }
                }),
        )
    }
}

/// The session cookie's value, if the browser sent one.
pub struct SessionCookie(pub Option<String>);

impl FromRequest for SessionCookie {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            registered::<CookiePolicy>(req)
                .map(|policy| Self(wire::cookie(req, &policy.session_name)))
                .map_err(Into::into),
        )
    }
}

/// The device-token cookie's value, if the browser sent one (`limits::lockout`).
pub struct DeviceCookie(pub Option<String>);

impl FromRequest for DeviceCookie {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            registered::<CookiePolicy>(req)
                .map(|policy| Self(wire::cookie(req, &policy.device_name)))
                .map_err(Into::into),
        )
    }
}

/// The browser as the sign-in pipeline sees it: binding value and session cookie.
pub struct BrowserState {
    pub binding: BrowserBinding,
    pub session: Option<String>,
    pub origin: Origin,
}

impl BrowserState {
    pub fn as_browser(&self) -> Browser<'_> {
        Browser {
            binding: &self.binding.value,
            session: self.session.as_deref(),
            origin: &self.origin,
        }
    }
}

impl FromRequest for BrowserState {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let binding = BrowserBinding::from_request(req, payload).into_inner();
        let session = SessionCookie::from_request(req, payload).into_inner();
        let caller = Caller::from_request(req, payload).into_inner();
        ready((|| {
            Ok(Self {
                binding: binding?,
                session: session?.0,
                origin: caller?.0,
            })
        })())
    }
}

/// Where the request came from (address after `server.trusted_proxies`, user agent, request
/// id): what the audit log records and a new session's device.
pub struct Caller(pub Origin);

impl FromRequest for Caller {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            registered::<TrustedProxies>(req)
                .map(|proxies| Self(origin(req, &proxies)))
                .map_err(Into::into),
        )
    }
}

fn origin(req: &HttpRequest, proxies: &TrustedProxies) -> Origin {
    let request_id = req.extensions().get::<RequestId>().map(ToString::to_string);
    Origin {
        ip: wire::client_ip(req, proxies),
        user_agent: wire::user_agent(req),
        request_id: request_id.unwrap_or_default(),
    }
}

/// A form that carries the CSRF value of [`CookiePolicy::csrf_value`].
pub trait CsrfProtected {
    fn csrf(&self) -> &str;
}

/// A posted form whose CSRF value matches this browser's binding cookie; anything else is
/// the "form expired" page, before the handler runs.
pub struct CsrfForm<T> {
    pub form: T,
    pub binding: BrowserBinding,
}

impl<T: DeserializeOwned + CsrfProtected + 'static> FromRequest for CsrfForm<T> {
    type Error = actix_web::Error;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let form = web::Form::<T>::from_request(req, payload);
        let found = registered::<CookiePolicy>(req)
            .map(|policy| (wire::cookie(req, &policy.binding_name), policy));
        Box::pin(async move {
            let form = form.await?.into_inner();
            match found? {
                (Some(value), policy) if policy.csrf_matches(&value, form.csrf()) => {
                    let csrf = policy.csrf_value(&value);
                    let binding = BrowserBinding { value, csrf };
                    Ok(Self { form, binding })
                }
                _ => Err(PageError::FormExpired.into()),
            }
        })
    }
}

/// The signed-in user, if any.
pub struct MaybeUser(pub Option<SignedIn>);

impl FromRequest for MaybeUser {
    type Error = actix_web::Error;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let cookie = SessionCookie::from_request(req, payload).into_inner();
        let sign_on = registered::<SignOn>(req);
        Box::pin(async move {
            let (cookie, sign_on) = (cookie?, sign_on?);
            let user = sign_on.current(cookie.0.as_deref()).await;
            Ok(Self(user.map_err(PageError::from)?))
        })
    }
}

/// The signed-in user; without one, the account sign-in page.
pub struct CurrentUser(pub SignedIn);

impl FromRequest for CurrentUser {
    type Error = actix_web::Error;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let maybe = MaybeUser::from_request(req, payload);
        Box::pin(async move {
            match maybe.await? {
                MaybeUser(Some(user)) => Ok(Self(user)),
                MaybeUser(None) => Err(PageError::SignInRequired.into()),
            }
        })
    }
}

/// The client that authenticated this request (RFC 6749 §2.3, RFC 7523 §2.2), and the
/// request's other parameters, each at most once (§3.2).
pub struct AuthenticatedClient {
    pub client: Client,
    pub params: Params,
    pub origin: Origin,
}

impl FromRequest for AuthenticatedClient {
    type Error = actix_web::Error;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let form = web::Form::<Vec<(String, String)>>::from_request(req, payload);
        let basic = wire::basic_credentials(req);
        let authenticator = registered::<ClientAuthenticator>(req);
        let caller = Caller::from_request(req, payload).into_inner();
        Box::pin(async move {
            let params = Params::new(form.await?.into_inner());
            let origin = caller?.0;
            let client = authenticate(&params, basic, authenticator, &origin).await?;
            Ok(Self {
                client,
                params,
                origin,
            })
        })
    }
}

async fn authenticate(
    params: &Params,
    basic: Result<Option<(String, String)>, Error>,
    authenticator: Result<web::Data<ClientAuthenticator>, Error>,
    origin: &Origin,
) -> Result<Client, Error> {
    if let Some(name) = params.first_duplicate() {
        return Err(Error::invalid_request(format!(
            "parameter {name} is repeated"
        )));
    }
    let presented = client_auth::presented(basic?, params)?;
    authenticator?.authenticate(presented, origin).await
}
