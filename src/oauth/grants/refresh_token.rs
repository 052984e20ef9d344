//! `grant_type=refresh_token` (RFC 6749 §6) with rotation, family revocation on reuse
//! (RFC 9700 §4.14.2) and an idempotent retry window.

use crate::clients::Client;
use crate::clock::UnixTime;
use crate::oauth::Error;
use crate::oauth::Scopes;
use crate::oauth::refresh::{self, RefreshGrant};
use crate::oauth::rotation::{Presentation, Presented};
use crate::oauth::token_request::RefreshRequest;

use super::{Granted, Grants, TokenIds, UserGrant, seconds};
use crate::audit::{Event, Kind, Origin};

/// Rotates the presented token and returns the response body: a fresh one, or for a retry
/// within the grace window the very bytes the first request got. Bytes either way, because
/// the fresh body is serialised once here to be sealed for retries, not again by the caller.
pub async fn refresh(
    ctx: &Grants,
    client: &Client,
    request: &RefreshRequest,
    (now, origin): (UnixTime, &Origin),
) -> Result<Vec<u8>, Error> {
    let token = request.refresh_token.as_str();
    // Checked before the claim: a refused request leaves the token as it was.
    if let Some(grant) = refresh::find(ctx.store(), token).await? {
        validate(ctx, client, &grant, request, (now, origin)).await?;
    }
    let presentation = Presentation {
        store: ctx.store(),
        token,
        client_id: &client.id,
        grace: client.refresh_retry_grace(ctx.settings.refresh_retry_grace_secs),
        lease: ctx.claim_lease,
        clock: &ctx.clock,
    };
    let (grant, claim) = match presentation.claim().await? {
        Presented::Live { grant, claim } => (grant, claim),
        Presented::Retry(response) => return Ok(response),
        Presented::Reused { family } => {
            tracing::warn!("rotated refresh token reused; revoking its family");
            let reused = Event::new(Kind::RefreshReuseDetected)
                .client(client.id.as_str())
                .with("family_revoked", true);
            ctx.audit.record(origin, reused);
            ctx.metrics.refresh_reuse_detected();
            let family_ttl = seconds(ctx.settings.refresh_token_max_ttl_secs);
            refresh::revoke_family(ctx.store(), &family, family_ttl, now).await?;
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
    let rotated = rotate(ctx, client, token, &grant, request, now).await;
    match &rotated {
        Ok(_) => {
            let granted = Granted {
                grant: crate::metrics::Grant::RefreshToken,
                scope: &grant.scope.to_string(),
                user_id: Some(&grant.user_id),
            };
            ctx.issued(origin, Kind::TokenRefreshed, client, granted);
        }
        Err(_) => presentation.release(&claim).await,
    }
    rotated
}

/// The token's client, family, scope and user, checked before its rotation is claimed. A
/// token presented by another client has leaked: its family is revoked.
async fn validate(
    ctx: &Grants,
    client: &Client,
    grant: &RefreshGrant,
    request: &RefreshRequest,
    (now, origin): (UnixTime, &Origin),
) -> Result<(), Error> {
    if grant.client_id != client.id {
        let leaked = Event::new(Kind::RefreshReuseDetected)
            .client(client.id.as_str())
            .user(&grant.user_id)
            .with("reason", "presented_by_another_client")
            .with("family_revoked", true);
        ctx.audit.record(origin, leaked);
        ctx.metrics.refresh_reuse_detected();
        let family_ttl = seconds(ctx.settings.refresh_token_max_ttl_secs);
        refresh::revoke_family(ctx.store(), &grant.family, family_ttl, now).await?;
        return Err(Error::invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    if !refresh::family_usable(ctx.store(), &grant.family).await? {
        return Err(Error::invalid_grant("the refresh token has been revoked"));
    }
    granted_scope(grant, request)?;
    grant.resources.narrowed(&request.resources)?;
    ctx.active_user(&grant.user_id).await
}

/// §6: a narrower scope may be asked for, never a wider one.
fn granted_scope(grant: &RefreshGrant, request: &RefreshRequest) -> Result<Scopes, Error> {
    match &request.scope {
        Some(scope) if !scope.is_subset(&grant.scope) => Err(Error::InvalidScope(
            "scope exceeds what was originally granted".into(),
        )),
        Some(scope) => Ok(scope.clone()),
        None => Ok(grant.scope.clone()),
    }
}

/// Mints the new tokens in the family and retires the old token, in one store batch.
async fn rotate(
    ctx: &Grants,
    client: &Client,
    token: &str,
    grant: &RefreshGrant,
    request: &RefreshRequest,
    now: UnixTime,
) -> Result<Vec<u8>, Error> {
    let scope = granted_scope(grant, request)?;
    let resources = grant.resources.narrowed(&request.resources)?;
    let ids = TokenIds {
        jti: crate::random::token(),
        family: grant.family.clone(),
        family_expires_at: grant.family_expires_at,
        new_family: false,
        tag: refresh::tag_after(token),
    };
    let user = UserGrant {
        user_id: &grant.user_id,
        scope: &scope,
        family_scope: &grant.scope,
        auth_time: grant.auth_time,
        sid: &grant.sid,
        amr: &grant.amr,
        idp: grant.idp.as_deref(),
        nonce: None,
        resources: &resources,
        family_resources: &grant.resources,
    };
    let (response, mut writes) = ctx.mint(client, &user, &ids, now).await?;
    let body = serde_json::to_vec(&response).map_err(|e| Error::Unexpected(e.into()))?;
    writes.extend(refresh::retire(token, grant, &body, now)?);
    ctx.store.batch(&writes).await?;
    Ok(body)
}
