//! Browser SSO sessions, kept in the ephemeral store under a digest of the cookie value.
//! The `sid` handed to relying parties is a separate public id, never the cookie. Indexes
//! (sessions of a user; clients and refresh families of a session) are store sets.

use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::random;
use crate::store::{EphemeralStore, Write};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub sid: String,
    pub user_id: String,
    /// When the user last authenticated (OIDC `auth_time`), Unix seconds.
    pub auth_time: i64,
    pub amr: Vec<String>,
    /// The upstream provider the user signed in at (federation), if any: the `idp` claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
    pub created_at: i64,
    pub last_seen: i64,
    pub expires_at: i64,
    pub user_agent: String,
    pub ip: String,
}

/// The storage id of a session: the digest of its cookie value.
pub fn id_of(cookie_value: &str) -> String {
    random::digest(cookie_value)
}

fn key(id: &str) -> String {
    format!("session:{id}")
}

fn user_index(user_id: &str) -> String {
    format!("user-sessions:{user_id}")
}

fn remaining(session: &Session, now: UnixTime) -> Duration {
    Duration::from_secs((session.expires_at - now.secs()).max(1) as u64)
}

/// Where a login happens: the browser, and the session it re-authenticates, if any.
pub struct LoginContext<'a> {
    pub device: &'a Device,
    /// A session of the same user in this browser: it continues (same `sid`) under a new
    /// cookie value, so relying parties see one session and fixation gains nothing.
    pub continuing: Option<&'a Session>,
    /// How the user authenticated (RFC 8176 `amr` values).
    pub amr: &'a [String],
    /// The upstream provider that signed the user in, if one did.
    pub idp: Option<&'a str>,
    pub now: UnixTime,
}

/// The browser a session was started from, as shown on the account page.
#[derive(Debug, Clone, Default)]
pub struct Device {
    pub user_agent: String,
    pub ip: String,
}

impl From<&crate::audit::Origin> for Device {
    fn from(origin: &crate::audit::Origin) -> Self {
        Self {
            user_agent: origin.user_agent.clone(),
            ip: origin.ip.clone(),
        }
    }
}

/// Starts (or re-authenticates) a session after a successful login; returns the cookie
/// value and the session.
pub async fn start(
    store: &dyn EphemeralStore,
    user_id: &str,
    at: &LoginContext<'_>,
    ttl: Duration,
) -> anyhow::Result<(String, Session)> {
    let now = at.now.secs();
    let cookie_value = random::token();
    let (user_agent, ip) = (&at.device.user_agent, &at.device.ip);
    let session = Session {
        sid: at.continuing.map_or_else(random::token, |s| s.sid.clone()),
        user_id: user_id.to_owned(),
        auth_time: now,
        amr: at.amr.to_vec(),
        idp: at.idp.map(str::to_owned),
        created_at: at.continuing.map_or(now, |s| s.created_at),
        last_seen: now,
        expires_at: now + ttl.as_secs() as i64,
        user_agent: user_agent.chars().take(300).collect(),
        ip: ip.clone(),
    };
    let id = id_of(&cookie_value);
    store
        .put(&key(&id), &serde_json::to_vec(&session)?, ttl)
        .await?;
    store.set_add(&user_index(user_id), &id, ttl).await?;
    Ok((cookie_value, session))
}

/// The live session behind a cookie; one past its end is gone even if the store still has it.
pub async fn find(
    store: &dyn EphemeralStore,
    cookie_value: &str,
    now: UnixTime,
) -> anyhow::Result<Option<Session>> {
    let found = find_by_id(store, &id_of(cookie_value)).await?;
    Ok(found.filter(|s| s.expires_at > now.secs()))
}

pub async fn find_by_id(store: &dyn EphemeralStore, id: &str) -> anyhow::Result<Option<Session>> {
    let Some(raw) = store.get(&key(id)).await? else {
        return Ok(None);
    };
    Ok(Some(
        serde_json::from_slice(&raw).context("stored session")?,
    ))
}

/// Records that the session was used now (shown on the account page). Only a live session
/// is updated: one ended since it was read stays ended (`false`).
pub async fn touch(
    store: &dyn EphemeralStore,
    cookie_value: &str,
    session: &Session,
    now: UnixTime,
) -> anyhow::Result<bool> {
    let updated = Session {
        last_seen: now.secs(),
        ..session.clone()
    };
    let value = serde_json::to_vec(&updated)?;
    let key = key(&id_of(cookie_value));
    Ok(store
        .put_if_present(&key, &value, remaining(session, now))
        .await?)
}

/// How long an ended session's `sid` is remembered: longer than any code issued in it lives.
const ENDED_FOR: Duration = Duration::from_secs(10 * 60);

fn ended_key(sid: &str) -> String {
    format!("session-ended:{sid}")
}

/// Remembers that the session `sid` ended, so a code issued in it is refused.
pub async fn mark_ended(store: &dyn EphemeralStore, sid: &str) -> anyhow::Result<()> {
    store.put(&ended_key(sid), b"1", ENDED_FOR).await?;
    Ok(())
}

/// Whether the session `sid` ended recently (see [`mark_ended`]).
pub async fn has_ended(store: &dyn EphemeralStore, sid: &str) -> anyhow::Result<bool> {
    Ok(store.get(&ended_key(sid)).await?.is_some())
}

/// A user's live sessions with their storage ids, newest first.
pub async fn list_for_user(
    store: &dyn EphemeralStore,
    user_id: &str,
) -> anyhow::Result<Vec<(String, Session)>> {
    let mut sessions = Vec::new();
    for id in store.set_members(&user_index(user_id)).await? {
        match find_by_id(store, &id).await? {
            Some(session) => sessions.push((id, session)),
            None => store.set_remove(&user_index(user_id), &id).await?,
        }
    }
    sessions.sort_by_key(|(_, s)| -s.created_at);
    Ok(sessions)
}

/// Removes the session; returns it so its tokens and clients can be dealt with.
pub async fn remove(store: &dyn EphemeralStore, id: &str) -> anyhow::Result<Option<Session>> {
    let Some(raw) = store.take(&key(id)).await? else {
        return Ok(None);
    };
    let session: Session = serde_json::from_slice(&raw).context("stored session")?;
    store.set_remove(&user_index(&session.user_id), id).await?;
    Ok(Some(session))
}

/// Remembers a client that received tokens in this session (for back-channel logout).
pub fn record_client(sid: &str, client_id: &str, ttl: Duration) -> Write {
    Write::SetAdd {
        key: format!("session-clients:{sid}"),
        member: client_id.to_owned(),
        ttl,
    }
}

/// Remembers a refresh-token family bound to this session (revoked when it ends).
pub fn record_family(sid: &str, family: &str, ttl: Duration) -> Write {
    Write::SetAdd {
        key: format!("session-families:{sid}"),
        member: family.to_owned(),
        ttl,
    }
}

pub async fn clients(store: &dyn EphemeralStore, sid: &str) -> anyhow::Result<Vec<String>> {
    Ok(store.set_members(&format!("session-clients:{sid}")).await?)
}

pub async fn families(store: &dyn EphemeralStore, sid: &str) -> anyhow::Result<Vec<String>> {
    Ok(store
        .set_members(&format!("session-families:{sid}"))
        .await?)
}
