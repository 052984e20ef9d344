//! `/userinfo` (OIDC Core §5.3): claims chosen by the access token's scope.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::{extract, paths};
use crate::accounts;
use crate::oauth::{Error, Scopes, tokens};
use crate::startup::Components;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::USERINFO, web::get().to(userinfo_get))
        .route(paths::USERINFO, web::post().to(userinfo_post));
}

async fn userinfo_get(req: HttpRequest, c: web::Data<Components>) -> Result<HttpResponse, Error> {
    let token = extract::bearer_token(&req).ok_or(Error::MissingToken)?;
    userinfo(&c, &token).await
}

/// RFC 6750 §2.2 also allows the token in a form body; one method only (§2).
async fn userinfo_post(
    req: HttpRequest,
    form: Option<web::Form<Vec<(String, String)>>>,
    c: web::Data<Components>,
) -> Result<HttpResponse, Error> {
    let body_token = form.and_then(|f| {
        f.into_inner()
            .into_iter()
            .find(|(k, _)| k == "access_token")
            .map(|(_, v)| v)
    });
    let token = match (extract::bearer_token(&req), body_token) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid_request("send the access token one way only"));
        }
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => return Err(Error::MissingToken),
    };
    userinfo(&c, &token).await
}

#[tracing::instrument(skip_all)]
async fn userinfo(c: &Components, token: &str) -> Result<HttpResponse, Error> {
    let now = chrono::Utc::now().timestamp();
    let claims = tokens::verify_access(&c.keys, &c.issuer, c.store.as_ref(), token, now).await?;
    let scope = Scopes::parse(&claims.scope).unwrap_or_default();
    if !scope.contains("openid") {
        return Err(Error::InsufficientScope(
            "the token lacks the openid scope".into(),
        ));
    }
    let user = accounts::store::find_by_id(&c.db, &claims.sub)
        .await?
        .filter(|u| !u.disabled)
        .ok_or_else(|| Error::InvalidToken("the user is no longer active".into()))?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(Value::Object(user_claims(&user, &scope))))
}

/// OIDC Core §5.4: `profile`, `email` and our `roles` scope each release their claims.
pub fn user_claims(user: &accounts::User, scope: &Scopes) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(user.id));
    if scope.contains("profile") {
        claims.insert("name".into(), json!(user.name));
        claims.insert("preferred_username".into(), json!(user.email));
        claims.insert("updated_at".into(), json!(user.updated_at.timestamp()));
    }
    if scope.contains("email") {
        claims.insert("email".into(), json!(user.email));
        claims.insert("email_verified".into(), json!(user.email_verified));
    }
    if scope.contains("roles") {
        claims.insert("roles".into(), json!(user.roles));
    }
    claims
}
