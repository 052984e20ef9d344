//! `grant_type=refresh_token` (RFC 6749 §6) with rotation, family revocation on reuse
//! (RFC 9700 §4.14.2) and an idempotent retry window.

use std::time::Duration;

use crate::clients::Client;
use crate::clock::UnixTime;
use crate::oauth::Error;
use crate::oauth::refresh::{self, Presented, RefreshGrant};
use crate::oauth::token_request::RefreshRequest;

use super::{Grants, TokenIds, UserGrant, seconds};

/// Rotates the presented token and returns the response body: a fresh one, or for a retry
/// within the grace window the very bytes the first request got. Bytes either way, because
/// the fresh body is serialised once here to be sealed for retries, not again by the caller.
pub async fn refresh(
    ctx: &Grants,
    client: &Client,
    request: &RefreshRequest,
    now: UnixTime,
) -> Result<Vec<u8>, Error> {
    let token = request.refresh_token.as_str();
    let grant = match live_grant(ctx, client, token, now).await? {
        Claimed::Live(grant) => grant,
        Claimed::Retry(response) => return Ok(response),
    };
    // §6: a narrower scope may be asked for, never a wider one.
    let scope = match &request.scope {
        Some(scope) if !scope.is_subset(&grant.scope) => {
            return Err(Error::InvalidScope(
                "scope exceeds what was originally granted".into(),
            ));
        }
        Some(scope) => scope.clone(),
        None => grant.scope.clone(),
    };
    let ids = TokenIds {
        jti: crate::random::token(),
        family: grant.family.clone(),
        family_expires_at: grant.family_expires_at,
    };
    let user = UserGrant {
        user_id: &grant.user_id,
        scope: &scope,
        family_scope: &grant.scope,
        auth_time: grant.auth_time,
        sid: &grant.sid,
        amr: &grant.amr,
        nonce: None,
    };
    let (response, mut writes) = ctx.mint(client, &user, &ids, now).await?;
    let body = serde_json::to_vec(&response).map_err(|e| Error::Unexpected(e.into()))?;
    writes.extend(refresh::retire(token, &grant, &body, now)?);
    ctx.store.batch(&writes).await?;
    Ok(body)
}

enum Claimed {
    Live(RefreshGrant),
    Retry(Vec<u8>),
}

/// Claims the token's rotation: a live grant of this client's in a usable family, or the
/// answer already given to a retry. Reuse of a rotated token, or a token presented by
/// another client, revokes the family (RFC 9700 §4.14.2).
async fn live_grant(
    ctx: &Grants,
    client: &Client,
    token: &str,
    now: UnixTime,
) -> Result<Claimed, Error> {
    let grace = Duration::from_secs(ctx.settings.refresh_retry_grace_secs as u64);
    let family_ttl = seconds(ctx.settings.refresh_token_max_ttl_secs);
    let grant = match refresh::claim(ctx.store(), token, &client.id, grace, family_ttl, now).await?
    {
        Presented::Live(grant) => grant,
        Presented::Retry(response) => return Ok(Claimed::Retry(response)),
        Presented::Reused { family } => {
            tracing::warn!("rotated refresh token reused; revoking its family");
            refresh::revoke_family(ctx.store(), &family, family_ttl).await?;
            return Err(Error::invalid_grant(
                "the refresh token was already used; its family is revoked",
            ));
        }
        Presented::Unknown => {
            return Err(Error::invalid_grant(
                "the refresh token is invalid or expired",
            ));
        }
    };
    if grant.client_id != client.id {
        refresh::revoke_family(ctx.store(), &grant.family, family_ttl).await?;
        return Err(Error::invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    if !refresh::family_usable(ctx.store(), &grant.family).await? {
        return Err(Error::invalid_grant("the refresh token has been revoked"));
    }
    Ok(Claimed::Live(grant))
}
