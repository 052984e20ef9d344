//! `/authorize` (GET and POST, OIDC Core §3.1.2.1) and its resumption after a page of the
//! sign-in pipeline.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::error::PageError;
use super::extract::BrowserState;
use super::reply;
use crate::oauth::authorize::{Authorizer, Params};
use crate::paths;
use crate::settings::Issuer;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::AUTHORIZE, web::get().to(authorize_get))
        .route(paths::AUTHORIZE, web::post().to(authorize_post))
        .route(paths::AUTHORIZE_RESUME, web::get().to(resume));
}

#[tracing::instrument(skip_all)]
async fn authorize_get(
    query: web::Query<Vec<(String, String)>>,
    browser: BrowserState,
    authorizer: web::Data<Authorizer>,
    issuer: web::Data<Issuer>,
) -> Result<HttpResponse, PageError> {
    let params = Params::new(query.into_inner());
    let step = authorizer.start(&params, browser.as_browser()).await?;
    reply::step(&issuer, step)
}

#[tracing::instrument(skip_all)]
async fn authorize_post(
    form: web::Form<Vec<(String, String)>>,
    browser: BrowserState,
    authorizer: web::Data<Authorizer>,
    issuer: web::Data<Issuer>,
) -> Result<HttpResponse, PageError> {
    let params = Params::new(form.into_inner());
    let step = authorizer.start(&params, browser.as_browser()).await?;
    reply::step(&issuer, step)
}

#[derive(Deserialize)]
struct ResumeQuery {
    request: String,
}

/// Decides again once the login or consent page is done.
async fn resume(
    query: web::Query<ResumeQuery>,
    browser: BrowserState,
    authorizer: web::Data<Authorizer>,
    issuer: web::Data<Issuer>,
) -> Result<HttpResponse, PageError> {
    let step = authorizer
        .resume(&query.request, browser.as_browser())
        .await?;
    reply::step(&issuer, step)
}
