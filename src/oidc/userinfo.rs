//! The UserInfo endpoint's rules (OIDC Core §5.3): a valid access token with `openid`, an
//! active user, and the claims its scope releases (§5.4).

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use serde_json::{Map, Value, json};

use crate::accounts::{self, User};
use crate::clients::Client;
use crate::clock::SharedClock;
use crate::keys::KeyRing;
use crate::oauth::standing::Standing;
use crate::oauth::{Error, Scopes, tokens};
use crate::settings::Issuer;
use crate::store::Store;

#[derive(Clone)]
pub struct UserInfo {
    pub db: DatabaseConnection,
    pub store: Store,
    pub keys: Arc<KeyRing>,
    pub issuer: Issuer,
    pub clock: SharedClock,
    /// A token whose client was deleted is refused like an expired one.
    pub standing: Standing,
}

/// What `/userinfo` answers (OIDC Core §5.3.2).
pub enum Answer {
    /// `application/json`.
    Json(Map<String, Value>),
    /// `application/jwt`: for a client registered with `userinfo_signed_response_alg`, the
    /// claims with `iss` and `aud`, signed.
    Signed(String),
}

impl UserInfo {
    /// The answer for the bearer of `token` (RFC 6750 errors when it is not good enough).
    pub async fn answer(&self, token: &str) -> Result<Answer, Error> {
        let (mut claims, client) = self.claims(token).await?;
        let Some(alg) = client.userinfo_alg else {
            return Ok(Answer::Json(claims));
        };
        claims.insert("iss".into(), json!(self.issuer.as_str()));
        claims.insert("aud".into(), json!(client.id));
        let payload = serde_json::to_vec(&claims).map_err(anyhow::Error::from)?;
        Ok(Answer::Signed(self.keys.sign_with(alg, "JWT", &payload)?))
    }

    /// The claims for the bearer of `token`, and the client it was issued to.
    async fn claims(&self, token: &str) -> Result<(Map<String, Value>, Client), Error> {
        let now = self.clock.now();
        let claims =
            tokens::verify_access(&self.keys, &self.issuer, self.store.as_ref(), token, now)
                .await?;
        let scope = Scopes::parse(&claims.scope).unwrap_or_default();
        if !scope.contains("openid") {
            return Err(Error::InsufficientScope(
                "the token lacks the openid scope".into(),
            ));
        }
        if !claims.aud.contains(self.issuer.as_str()) {
            return Err(Error::InvalidToken(
                "the access token is not for the userinfo endpoint".into(),
            ));
        }
        let client = self
            .standing
            .client_if_holds(&claims.client_id, &claims.sub)
            .await?
            .ok_or_else(|| {
                Error::InvalidToken("the token's client or user is no longer active".into())
            })?;
        let user = accounts::store::find_by_id(&self.db, &claims.sub)
            .await?
            .filter(|u| !u.disabled)
            .ok_or_else(|| Error::InvalidToken("the user is no longer active".into()))?;
        Ok((user_claims(&user, &scope), client))
    }
}

/// OIDC Core §5.4: `profile`, `email` and our `roles` scope each release their claims; `sub`
/// always.
pub fn user_claims(user: &User, scope: &Scopes) -> Map<String, Value> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        User {
            id: "u1".into(),
            email: "ada@example.com".into(),
            name: "Ada".into(),
            email_verified: true,
            disabled: false,
            roles: vec!["admin".into()],
            updated_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        }
    }

    #[test]
    fn openid_alone_releases_only_sub() {
        let claims = user_claims(&user(), &Scopes::parse("openid").unwrap());
        assert_eq!(claims.keys().collect::<Vec<_>>(), ["sub"]);
    }

    #[test]
    fn each_scope_releases_its_claims() {
        let scope = Scopes::parse("openid profile email roles").unwrap();
        let claims = user_claims(&user(), &scope);
        assert_eq!(claims["name"], "Ada");
        assert_eq!(claims["preferred_username"], "ada@example.com");
        assert_eq!(claims["updated_at"], 1_700_000_000);
        assert_eq!(claims["email_verified"], true);
        assert_eq!(claims["roles"], json!(["admin"]));
    }
}
