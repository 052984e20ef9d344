//! `/token` (RFC 6749 §3.2): authenticate the client once, dispatch on `grant_type`.

use actix_web::{HttpRequest, HttpResponse, web};

use super::{extract, paths};
use crate::clients::{Client, GrantType};
use crate::oauth::authorize::Params;
use crate::oauth::grants::{GrantContext, authorization_code, client_credentials, refresh_token};
use crate::oauth::{Error, client_auth};
use crate::startup::Components;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::TOKEN, web::post().to(token));
}

#[tracing::instrument(skip_all, fields(client_id, grant_type))]
async fn token(
    req: HttpRequest,
    form: web::Form<Vec<(String, String)>>,
    c: web::Data<Components>,
) -> Result<HttpResponse, Error> {
    let params = Params::new(form.into_inner());
    let client = authenticated_client(&req, &params, &c).await?;
    let span = tracing::Span::current();
    span.record("client_id", client.id.as_str());
    let grant_type = params
        .get("grant_type")
        .ok_or_else(|| Error::invalid_request("grant_type is missing"))?;
    span.record("grant_type", grant_type);
    let ctx = GrantContext {
        db: &c.db,
        users: &c.user_status,
        store: c.store.as_ref(),
        keys: &c.keys,
        issuer: &c.issuer,
        settings: &c.settings.tokens,
    };
    let now_ms = chrono::Utc::now().timestamp_millis();
    let body = match grant_type {
        "authorization_code" => {
            allowed(&client, GrantType::AuthorizationCode)?;
            json(&authorization_code::exchange(&ctx, &client, &params, now_ms / 1000).await?)?
        }
        "refresh_token" => {
            allowed(&client, GrantType::RefreshToken)?;
            refresh_token::refresh(&ctx, &client, &params, now_ms).await?
        }
        "client_credentials" => {
            allowed(&client, GrantType::ClientCredentials)?;
            json(&client_credentials::grant(&ctx, &client, &params, now_ms / 1000).await?)?
        }
        _ => {
            return Err(Error::UnsupportedGrantType(format!(
                "grant_type {grant_type} is not supported"
            )));
        }
    };
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Pragma", "no-cache"))
        .body(body))
}

/// Client authentication for every endpoint that needs it (token, revocation, introspection).
pub async fn authenticated_client(
    req: &HttpRequest,
    params: &Params,
    c: &Components,
) -> Result<Client, Error> {
    if let Some(name) = params.first_duplicate() {
        return Err(Error::invalid_request(format!(
            "parameter {name} is repeated"
        )));
    }
    let presented = client_auth::presented(extract::basic_credentials(req)?, params)?;
    // The assertion may name the issuer, the token endpoint, or the endpoint being called.
    let audiences = [
        c.issuer.as_str().to_owned(),
        c.issuer.endpoint(paths::TOKEN),
        c.issuer.endpoint(req.path()),
    ];
    let ctx = client_auth::AuthContext {
        db: &c.db,
        clients: &c.clients,
        store: c.store.as_ref(),
        audiences: &audiences,
        now: chrono::Utc::now().timestamp(),
    };
    client_auth::authenticate(&ctx, presented).await
}

fn allowed(client: &Client, grant: GrantType) -> Result<(), Error> {
    if client.allows_grant(grant) {
        Ok(())
    } else {
        Err(Error::UnauthorizedClient(format!(
            "client may not use {}",
            grant.as_str()
        )))
    }
}

fn json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value).map_err(|e| Error::Unexpected(e.into()))
}
