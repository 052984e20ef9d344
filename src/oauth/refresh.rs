//! Refresh tokens: opaque, stored under their digest, rotated on every use, grouped in
//! families so reuse of a rotated token revokes them all (RFC 9700 §4.14.2) — except a
//! retry within a short grace window, which gets the same answer again.

use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::keys;
use crate::oauth::Scopes;
use crate::oauth::resource::Resources;
use crate::random;
use crate::store::{EphemeralStore, Write};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshGrant {
    pub family: String,
    pub client_id: String,
    pub user_id: String,
    pub sid: String,
    pub scope: Scopes,
    pub auth_time: i64,
    pub amr: Vec<String>,
    /// The upstream provider of the sign-in (the `idp` claim), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
    /// The family's absolute end (Unix seconds); rotation never extends it.
    pub family_expires_at: i64,
    /// The resources granted (RFC 8707); a refresh may narrow them for its access token.
    #[serde(default)]
    pub resources: Resources,
}

#[derive(Debug, Serialize, Deserialize)]
struct FamilyState {
    revoked: bool,
}

/// Left behind by a rotation: who rotated when, and the sealed answer for a retry. A claim
/// leaves one, with a claim id and no family yet, in the same atomic step that reads the
/// token (see [`super::rotation`]); the rotation's final write replaces it with the full
/// record.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Rotated {
    pub family: Option<String>,
    pub client_id: String,
    pub rotated_at_ms: i64,
    pub cached: Option<String>,
    /// Which claim this is, so that only its owner releases it.
    #[serde(default)]
    pub claim: Option<String>,
}

/// The length of a family's hash tag.
const TAG_LEN: usize = 8;

/// A new family's hash tag: every refresh token of the family begins with it (`TAG.SECRET`)
/// and its keys carry it (`rt:{TAG}:…`), so a rotation's keys (the old token, its rotation
/// marker and the new token) share a Redis Cluster slot and are written in one transaction.
pub fn new_tag() -> String {
    random::token()[..TAG_LEN].to_owned()
}

/// The tag the next token of `token`'s family carries: its own, or a new one for a token
/// from before tags (whose old keys only standalone and Sentinel deployments hold).
pub fn tag_after(token: &str) -> String {
    tag_of(token).map_or_else(new_tag, str::to_owned)
}

fn tag_of(token: &str) -> Option<&str> {
    let (tag, secret) = token.split_once('.')?;
    let alphabet = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    (tag.len() == TAG_LEN && !secret.is_empty() && tag.bytes().all(alphabet)).then_some(tag)
}

/// Whether `token` has a hash tag: only then do its two keys surely share a slot.
pub(super) fn is_tagged(token: &str) -> bool {
    tag_of(token).is_some()
}

fn keyed(kind: &str, token: &str) -> String {
    let digest = random::digest(token);
    match tag_of(token) {
        Some(tag) => format!("{kind}:{{{tag}}}:{digest}"),
        None => format!("{kind}:{digest}"),
    }
}

pub(super) fn token_key(token: &str) -> String {
    keyed("rt", token)
}

pub(super) fn rotated_key(token: &str) -> String {
    keyed("rt-rotated", token)
}

fn family_key(family: &str) -> String {
    format!("rt-family:{family}")
}

/// From `now` to `until` (Unix seconds), at least a second.
fn remaining(until: i64, now: UnixTime) -> Duration {
    Duration::from_secs((until - now.secs()).max(1) as u64)
}

/// Opens a family; a revocation that raced ahead of it (code replay) is kept.
pub fn start_family(family: &str, expires_at: i64, now: UnixTime) -> anyhow::Result<Write> {
    Ok(Write::PutIfAbsent {
        key: family_key(family),
        value: serde_json::to_vec(&FamilyState { revoked: false })?,
        ttl: remaining(expires_at, now),
    })
}

fn access_tokens_key(family: &str) -> String {
    format!("rt-family-access:{family}")
}

/// Remembers an access token minted in the family (`jti`, until `expires_at`), so that
/// revoking the family revokes it too (RFC 7009 §2.1).
pub fn record_access_token(family: &str, jti: &str, expires_at: i64, now: UnixTime) -> Write {
    Write::SetAdd {
        key: access_tokens_key(family),
        member: format!("{jti} {expires_at}"),
        ttl: remaining(expires_at, now),
    }
}

fn user_families_key(user_id: &str) -> String {
    format!("user-families:{user_id}")
}

/// A refresh family as the user's index lists it: a family outlives the session it was
/// issued in (a day against up to the refresh tokens' longest life), so revoking everything
/// a user holds (a password change or reset) or one client's grant (consent taken back)
/// needs an index of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFamily {
    pub client_id: String,
    pub family: String,
    /// The family's absolute end (Unix seconds): past it, nothing is left to revoke.
    pub expires_at: i64,
}

impl UserFamily {
    fn member(&self) -> String {
        format!("{} {} {}", self.client_id, self.family, self.expires_at)
    }

    /// The family and its end are the last two words, so any client id reads back whole.
    fn parse(member: &str) -> Option<Self> {
        let mut words = member.rsplitn(3, ' ');
        let expires_at = words.next()?.parse().ok()?;
        let family = words.next()?.to_owned();
        let client_id = words.next()?.to_owned();
        Some(Self {
            client_id,
            family,
            expires_at,
        })
    }
}

/// Lists the grant's family under its user until the family ends. Written when the family
/// opens (a code exchange): rotation keeps the same member, so it would only rewrite it.
pub fn record_user_family(grant: &RefreshGrant, now: UnixTime) -> Write {
    let family = UserFamily {
        client_id: grant.client_id.clone(),
        family: grant.family.clone(),
        expires_at: grant.family_expires_at,
    };
    Write::SetAdd {
        key: user_families_key(&grant.user_id),
        member: family.member(),
        ttl: remaining(grant.family_expires_at, now),
    }
}

/// The user's refresh families, as indexed. Redis keeps the set as long as its longest-lived
/// member, so ended families may still be listed until [`forget_user_family`] drops them.
pub async fn user_families(
    store: &dyn EphemeralStore,
    user_id: &str,
) -> anyhow::Result<Vec<UserFamily>> {
    let members = store.set_members(&user_families_key(user_id)).await?;
    Ok(members
        .iter()
        .filter_map(|m| UserFamily::parse(m))
        .collect())
}

/// Drops a family from its user's index (once it is revoked or has ended).
pub async fn forget_user_family(
    store: &dyn EphemeralStore,
    user_id: &str,
    family: &UserFamily,
) -> anyhow::Result<()> {
    store
        .set_remove(&user_families_key(user_id), &family.member())
        .await?;
    Ok(())
}

/// Revokes the family, and every access token minted in it that is still alive: a revoked
/// grant leaves nothing usable behind (RFC 7009 §2.1, RFC 9700 §4.14.2).
pub async fn revoke_family(
    store: &dyn EphemeralStore,
    family: &str,
    ttl: Duration,
    now: UnixTime,
) -> Result<(), crate::oauth::Error> {
    let state = serde_json::to_vec(&FamilyState { revoked: true })
        .map_err(|e| crate::oauth::Error::Unexpected(e.into()))?;
    store.put(&family_key(family), &state, ttl).await?;
    for member in store.set_members(&access_tokens_key(family)).await? {
        let Some((jti, expires_at)) = member.split_once(' ') else {
            continue;
        };
        if let Ok(expires_at) = expires_at.parse::<i64>() {
            crate::oauth::tokens::revoke_access(store, jti, expires_at, now).await?;
        }
    }
    Ok(())
}

/// A family that is revoked or has expired is not usable.
pub async fn family_usable(store: &dyn EphemeralStore, family: &str) -> anyhow::Result<bool> {
    let Some(raw) = store.get(&family_key(family)).await? else {
        return Ok(false);
    };
    let state: FamilyState = serde_json::from_slice(&raw).context("family state")?;
    Ok(!state.revoked)
}

/// A new refresh token with the family's `tag` and the write that stores it: it lives for
/// the idle timeout, never past the family's end.
pub fn new_token(
    grant: &RefreshGrant,
    (tag, idle_ttl): (&str, i64),
    now: UnixTime,
) -> anyhow::Result<(String, Write)> {
    let token = format!("{tag}.{}", random::token());
    let ttl = remaining((now.secs() + idle_ttl).min(grant.family_expires_at), now);
    let write = Write::Put {
        key: token_key(&token),
        value: serde_json::to_vec(grant)?,
        ttl,
    };
    Ok((token, write))
}

/// Retires a rotated token: deletes it and leaves the response sealed under a key only the
/// old token's holder can derive, for retries.
pub fn retire(
    old_token: &str,
    grant: &RefreshGrant,
    response: &[u8],
    now: UnixTime,
) -> anyhow::Result<[Write; 2]> {
    let key = random::derive_key("refresh-retry", old_token);
    let marker = Rotated {
        family: Some(grant.family.clone()),
        client_id: grant.client_id.clone(),
        rotated_at_ms: now.millis(),
        cached: Some(keys::seal(&key, response)?),
        claim: None,
    };
    let ttl = remaining(grant.family_expires_at, now);
    Ok([
        Write::Delete {
            key: token_key(old_token),
        },
        Write::Put {
            key: rotated_key(old_token),
            value: serde_json::to_vec(&marker)?,
            ttl,
        },
    ])
}

/// The live grant behind a refresh token, without using it.
pub async fn find(store: &dyn EphemeralStore, token: &str) -> anyhow::Result<Option<RefreshGrant>> {
    match store.get(&token_key(token)).await? {
        Some(raw) => Ok(Some(
            serde_json::from_slice(&raw).context("stored refresh token")?,
        )),
        None => Ok(None),
    }
}

/// Deletes a refresh token (its family is revoked separately).
pub async fn forget(store: &dyn EphemeralStore, token: &str) -> anyhow::Result<()> {
    store.delete(&token_key(token)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_family_members_read_back_whatever_the_client_id() {
        for client_id in ["demo-spa", "a client with spaces"] {
            let family = UserFamily {
                client_id: client_id.to_owned(),
                family: "fam-1".to_owned(),
                expires_at: 1_700_000_000,
            };
            assert_eq!(UserFamily::parse(&family.member()), Some(family));
        }
        assert_eq!(UserFamily::parse("no-expiry fam"), None);
        assert_eq!(UserFamily::parse("fam 12"), None);
    }

    #[test]
    fn a_family_tag_puts_a_rotation_in_one_hash_slot() {
        let tag = new_tag();
        let (old, new) = (
            format!("{tag}.{}", random::token()),
            tag_after(&format!("{tag}.x")),
        );
        assert_eq!(new, tag);
        let hash_tag = |key: &str| {
            key.split('{')
                .nth(1)
                .and_then(|k| k.split('}').next())
                .map(str::to_owned)
        };
        assert_eq!(hash_tag(&token_key(&old)), Some(tag.clone()));
        assert_eq!(hash_tag(&rotated_key(&old)), Some(tag));
        let untagged = random::token();
        assert_eq!(
            token_key(&untagged),
            format!("rt:{}", random::digest(&untagged))
        );
        for odd in ["{x}.y", "abcdefg.y", "abcdefgh.", "ab{defgh.y"] {
            assert!(!is_tagged(odd), "{odd}");
        }
        assert_ne!(tag_after(&untagged).len(), 0);
    }
}
