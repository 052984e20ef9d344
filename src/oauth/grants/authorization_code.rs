//! `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6).

use crate::clients::Client;
use crate::oauth::authorize::Params;
use crate::oauth::code::{self, Issued, Redeemed};
use crate::oauth::tokens::{TokenResponse, revoke_access};
use crate::oauth::{Error, pkce, refresh};

use super::{GrantContext, UserGrant, new_ids, seconds};

pub async fn exchange(
    ctx: &GrantContext<'_>,
    client: &Client,
    params: &Params,
    now: i64,
) -> Result<TokenResponse, Error> {
    let code_value = params
        .get("code")
        .ok_or_else(|| Error::invalid_request("code is missing"))?;
    // What this exchange will issue, named before the code is taken: the code leaves a
    // marker naming them in the same atomic step, so any replay can revoke them (§4.1.2).
    let ids = new_ids(now + ctx.refresh_max_ttl(client));
    let issued = Issued {
        jti: ids.jti.clone(),
        access_expires_at: now + ctx.access_ttl(client),
        family: ids.family.clone(),
    };
    // Long enough to catch a replay for as long as what it issued is alive.
    let marker_ttl = seconds(
        ctx.access_ttl(client)
            .max(ctx.settings.authorization_code_ttl_secs)
            * 2,
    );
    let grant = match code::redeem(ctx.store, code_value, &issued, marker_ttl).await? {
        Redeemed::Fresh(grant) => grant,
        Redeemed::Replayed(issued) => {
            revoke_issued(ctx, &issued, now).await?;
            return Err(Error::invalid_grant(
                "the code was already used; tokens issued for it are revoked",
            ));
        }
        Redeemed::Unknown => return Err(Error::invalid_grant("the code is invalid or expired")),
    };
    if grant.client_id != client.id {
        return Err(Error::invalid_grant(
            "the code was issued to another client",
        ));
    }
    if grant.redirect_uri.as_deref() != params.get("redirect_uri") {
        return Err(Error::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    pkce::verify(grant.pkce.as_deref(), params.get("code_verifier"))?;
    let user = UserGrant {
        user_id: &grant.user_id,
        scope: &grant.scope,
        family_scope: &grant.scope,
        auth_time: grant.auth_time,
        sid: &grant.sid,
        amr: &grant.amr,
        nonce: grant.nonce.as_deref(),
    };
    let (response, mut writes) = ctx.mint(client, &user, &ids, now).await?;
    // For back-channel logout when this session ends.
    let index_ttl = seconds(ctx.refresh_max_ttl(client));
    writes.push(crate::sessions::record_client(
        &grant.sid, &client.id, index_ttl,
    ));
    ctx.store.batch(&writes).await?;
    Ok(response)
}

async fn revoke_issued(ctx: &GrantContext<'_>, issued: &Issued, now: i64) -> Result<(), Error> {
    tracing::warn!("authorization code replayed; revoking the tokens it issued");
    revoke_access(ctx.store, &issued.jti, issued.access_expires_at, now).await?;
    refresh::revoke_family(
        ctx.store,
        &issued.family,
        seconds(ctx.settings.refresh_token_max_ttl_secs),
    )
    .await?;
    Ok(())
}
