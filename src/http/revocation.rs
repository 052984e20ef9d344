//! `/revoke` (RFC 7009) and `/introspect` (RFC 7662): both need an authenticated client.

use actix_web::{HttpResponse, web};

use super::extract::AuthenticatedClient;
use crate::oauth::Error;
use crate::oauth::authorize::Params;
use crate::oauth::revocation::Revocation;
use crate::paths;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::REVOKE, web::post().to(revoke))
        .route(paths::INTROSPECT, web::post().to(introspect));
}

/// The `token` parameter (RFC 7009 §2.1, RFC 7662 §2.1). `pub` only for the fuzz targets.
pub fn token(params: &Params) -> Result<&str, Error> {
    params
        .get("token")
        .ok_or_else(|| Error::invalid_request("token is missing"))
}

#[tracing::instrument(skip_all)]
async fn revoke(
    AuthenticatedClient {
        client,
        params,
        origin,
    }: AuthenticatedClient,
    revocation: web::Data<Revocation>,
) -> Result<HttpResponse, Error> {
    let hint = params.get("token_type_hint");
    revocation
        .revoke(&client, token(&params)?, hint, &origin)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .finish())
}

#[tracing::instrument(skip_all)]
async fn introspect(
    AuthenticatedClient { client, params, .. }: AuthenticatedClient,
    revocation: web::Data<Revocation>,
) -> Result<HttpResponse, Error> {
    let hint = params.get("token_type_hint");
    let answer = revocation
        .introspect(&client, token(&params)?, hint)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(answer))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
        let key = proptest::sample::select(vec!["token", "token_type_hint", "client_id"]);
        let value = prop_oneof![
            Just(String::new()),
            Just("access_token".to_owned()),
            Just("refresh_token".to_owned()),
            any::<String>(),
        ];
        proptest::collection::vec((key.prop_map(str::to_owned), value), 0..6)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// What the handlers read: the first `token` sent, verbatim, or `invalid_request`;
        /// the hint only as sent (any value, RFC 7009 §2.1: it is a hint). A repeated one
        /// never gets here: the extractor refuses it first.
        #[test]
        fn the_token_is_what_was_sent_or_invalid_request(pairs in pairs()) {
            let first = |name: &str| {
                pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
            };
            let params = Params::new(pairs.clone());
            match token(&params) {
                Ok(token) => prop_assert_eq!(Some(token), first("token")),
                Err(e) => {
                    prop_assert_eq!(e.code(), "invalid_request");
                    prop_assert!(first("token").is_none_or(str::is_empty));
                }
            }
            let hint = first("token_type_hint").filter(|h| !h.is_empty());
            prop_assert_eq!(params.get("token_type_hint"), hint);
        }
    }
}
