//! `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6).

use crate::clients::Client;
use crate::clock::UnixTime;
use crate::oauth::code::{self, CodeGrant, Issued, Redeemed};
use crate::oauth::token_request::CodeExchange;
use crate::oauth::tokens::{TokenResponse, revoke_access};
use crate::oauth::{Error, pkce, refresh};

use super::{Grants, UserGrant, new_ids, seconds};

pub async fn exchange(
    ctx: &Grants,
    client: &Client,
    request: &CodeExchange,
    at: UnixTime,
) -> Result<TokenResponse, Error> {
    let now = at.secs();
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
    let grant = match code::redeem(ctx.store(), &request.code, &issued, marker_ttl, at).await? {
        Redeemed::Fresh(grant) => grant,
        Redeemed::Replayed(issued) => {
            revoke_issued(ctx, &issued, at).await?;
            return Err(Error::invalid_grant(
                "the code was already used; tokens issued for it are revoked",
            ));
        }
        Redeemed::Unknown => return Err(Error::invalid_grant("the code is invalid or expired")),
    };
    matches_request(&grant, client, request)?;
    let user = UserGrant {
        user_id: &grant.user_id,
        scope: &grant.scope,
        family_scope: &grant.scope,
        auth_time: grant.auth_time,
        sid: &grant.sid,
        amr: &grant.amr,
        nonce: grant.nonce.as_deref(),
    };
    let (response, mut writes) = ctx.mint(client, &user, &ids, at).await?;
    // For back-channel logout when this session ends.
    let index_ttl = seconds(ctx.refresh_max_ttl(client));
    writes.push(crate::sessions::record_client(
        &grant.sid, &client.id, index_ttl,
    ));
    ctx.store.batch(&writes).await?;
    Ok(response)
}

/// §4.1.3: the code was issued to this client, for this redirect URI, and the verifier
/// matches its challenge (RFC 7636 §4.6).
fn matches_request(
    grant: &CodeGrant,
    client: &Client,
    request: &CodeExchange,
) -> Result<(), Error> {
    if grant.client_id != client.id {
        return Err(Error::invalid_grant(
            "the code was issued to another client",
        ));
    }
    let presented_redirect = request.redirect_uri.as_ref().map(|r| r.as_str());
    if grant.redirect_uri.as_deref() != presented_redirect {
        return Err(Error::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    pkce::verify(grant.pkce.as_deref(), request.code_verifier.as_ref())
}

async fn revoke_issued(ctx: &Grants, issued: &Issued, now: UnixTime) -> Result<(), Error> {
    tracing::warn!("authorization code replayed; revoking the tokens it issued");
    revoke_access(ctx.store(), &issued.jti, issued.access_expires_at, now).await?;
    refresh::revoke_family(
        ctx.store(),
        &issued.family,
        seconds(ctx.settings.refresh_token_max_ttl_secs),
    )
    .await?;
    Ok(())
}
