//! `/userinfo` (OIDC Core §5.3): the bearer token from the header or, by RFC 6750 §2.2, a
//! form body — one way only.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::wire;
use crate::oauth::Error;
use crate::oidc::userinfo::{Answer, UserInfo};
use crate::paths;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::USERINFO, web::get().to(userinfo_get))
        .route(paths::USERINFO, web::post().to(userinfo_post));
}

async fn userinfo_get(
    req: HttpRequest,
    userinfo: web::Data<UserInfo>,
) -> Result<HttpResponse, Error> {
    let token = wire::bearer_token(&req).ok_or(Error::MissingToken)?;
    answer(&userinfo, &token).await
}

async fn userinfo_post(
    req: HttpRequest,
    form: Option<web::Form<Vec<(String, String)>>>,
    userinfo: web::Data<UserInfo>,
) -> Result<HttpResponse, Error> {
    let body_token = form.and_then(|f| {
        f.into_inner()
            .into_iter()
            .find(|(k, _)| k == "access_token")
            .map(|(_, v)| v)
    });
    let token = match (wire::bearer_token(&req), body_token) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid_request("send the access token one way only"));
        }
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => return Err(Error::MissingToken),
    };
    answer(&userinfo, &token).await
}

#[tracing::instrument(skip_all)]
async fn answer(userinfo: &UserInfo, token: &str) -> Result<HttpResponse, Error> {
    let mut response = HttpResponse::Ok();
    response.insert_header(("Cache-Control", "no-store"));
    Ok(match userinfo.answer(token).await? {
        Answer::Json(claims) => response.json(Value::Object(claims)),
        Answer::Signed(jwt) => response.content_type("application/jwt").body(jwt),
    })
}
