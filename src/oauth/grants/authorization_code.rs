//! `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6).

use crate::clients::Client;
use crate::clock::UnixTime;
use crate::oauth::code::{self, CodeGrant, Issued, Redeemed};
use crate::oauth::token_request::CodeExchange;
use crate::oauth::tokens::{TokenResponse, revoke_access};
use crate::oauth::{Error, pkce, refresh};

use super::{Granted, Grants, TokenIds, UserGrant, new_ids, seconds};
use crate::audit::{Event, Kind, Origin};
use crate::store::Write;

pub async fn exchange(
    ctx: &Grants,
    client: &Client,
    request: &CodeExchange,
    (at, origin): (UnixTime, &Origin),
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
        Redeemed::Fresh(grant) => *grant,
        Redeemed::Replayed(issued) => {
            let replayed = Event::new(Kind::CodeReplayDetected).client(client.id.as_str());
            ctx.audit.record(origin, replayed);
            ctx.metrics.code_replayed();
            revoke_issued(ctx, &issued, at).await?;
            return Err(Error::invalid_grant(
                "the code was already used; tokens issued for it are revoked",
            ));
        }
        Redeemed::Unknown => return Err(Error::invalid_grant("the code is invalid or expired")),
    };
    matches_request(&grant, client, request)?;
    let resources = grant.resources.narrowed(&request.resources)?;
    let user = UserGrant {
        user_id: &grant.user_id,
        scope: &grant.scope,
        family_scope: &grant.scope,
        auth_time: grant.auth_time,
        sid: &grant.sid,
        amr: &grant.amr,
        idp: grant.idp.as_deref(),
        nonce: grant.nonce.as_deref(),
        resources: &resources,
        family_resources: &grant.resources,
    };
    let (response, writes) = ctx.mint(client, &user, &ids, at).await?;
    commit(ctx, client, &grant.sid, &ids, writes, at).await?;
    let granted = Granted {
        grant: crate::metrics::Grant::AuthorizationCode,
        scope: &response.scope,
        user_id: Some(&grant.user_id),
    };
    ctx.issued(origin, Kind::TokenIssued, client, granted);
    Ok(response)
}

/// Stores what was minted and indexes the client under the session (for back-channel
/// logout). Checked after the write, so no logout can slip between: if the session ended
/// (before or meanwhile), what was just minted is revoked and the code refused.
async fn commit(
    ctx: &Grants,
    client: &Client,
    sid: &str,
    ids: &TokenIds,
    mut writes: Vec<Write>,
    at: UnixTime,
) -> Result<(), Error> {
    let index_ttl = seconds(ctx.refresh_max_ttl(client));
    // An index goes before what it indexes (see `EphemeralStore::batch`).
    writes.insert(
        0,
        crate::sessions::record_client(sid, &client.id, index_ttl),
    );
    ctx.store.batch(&writes).await?;
    if !crate::sessions::has_ended(ctx.store(), sid).await? {
        return Ok(());
    }
    let access_expires_at = at.secs() + ctx.access_ttl(client);
    revoke_access(ctx.store(), &ids.jti, access_expires_at, at).await?;
    let family_ttl = seconds(ctx.settings.refresh_token_max_ttl_secs);
    refresh::revoke_family(ctx.store(), &ids.family, family_ttl, at).await?;
    Err(Error::invalid_grant(
        "the session the code was issued in has ended",
    ))
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
    let family_ttl = seconds(ctx.settings.refresh_token_max_ttl_secs);
    refresh::revoke_family(ctx.store(), &issued.family, family_ttl, now).await
}
