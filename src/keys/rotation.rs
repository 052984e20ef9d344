//! Rotating and revoking signing keys, by schedule or by an operator (the CLI, the admin
//! API), against the database alone: a new key is stored to activate
//! `keys.publish_delay_secs` from now, so every instance publishes it (within a poll) long
//! before any signs with it, and relying parties that cache the JWKS have it in time. See
//! `keys::timeline` for what follows from the rows.

use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use super::alg::Alg;
use super::master::MasterKeys;
use super::published::KeyState;
use super::{store, timeline};
use crate::clock::UnixTime;
use crate::entities::signing_keys;
use crate::settings::{KeySettings, TokenSettings};

/// Clocks that disagree a little: a key stays published this much longer.
const SKEW: Duration = Duration::from_secs(60);

/// How keys come and go, from `keys.*` and the token lifetimes.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub publish_delay: Duration,
    /// `None`: rotation is manual only.
    pub rotate_after: Option<Duration>,
    pub rsa_bits: u32,
    /// The longest a token we sign lives by configuration (access tokens, id_tokens);
    /// clients' own lifetimes are read with the keys.
    pub token_lifetime: Duration,
    /// `keys.verification_window_secs`: the least time a key stays published after it
    /// stops signing.
    pub window: Duration,
}

impl Schedule {
    pub fn new(keys: &KeySettings, tokens: &TokenSettings) -> Self {
        let secs = |s: i64| Duration::from_secs(s.max(0) as u64);
        Self {
            publish_delay: Duration::from_secs(keys.publish_delay_secs),
            rotate_after: (keys.rotate_after_days > 0)
                .then(|| Duration::from_secs(u64::from(keys.rotate_after_days) * 86_400)),
            rsa_bits: keys.rsa_bits,
            token_lifetime: secs(tokens.access_token_ttl_secs).max(secs(tokens.id_token_ttl_secs)),
            window: secs(keys.verification_window_secs),
        }
    }

    /// How long after a key stops signing it stays published: until the longest-lived
    /// token it signed has expired, with a minute for clock skew.
    pub async fn longest(&self, db: &DatabaseConnection) -> anyhow::Result<chrono::Duration> {
        let client = store::longest_client_access_ttl(db).await?.unwrap_or(0);
        let lifetime = self
            .token_lifetime
            .max(Duration::from_secs(client.max(0) as u64))
            .max(self.window)
            + SKEW;
        Ok(chrono::Duration::from_std(lifetime)?)
    }
}

/// A key as `gatehouse keys list` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KeyStatus {
    pub kid: String,
    pub alg: String,
    pub state: KeyState,
    pub created_at: DateTime<Utc>,
    pub activates_at: DateTime<Utc>,
    pub retire_after: Option<DateTime<Utc>>,
}

/// Every stored key of an enabled algorithm and its state at `now`, newest first.
pub async fn list(
    db: &DatabaseConnection,
    schedule: &Schedule,
    now: UnixTime,
) -> anyhow::Result<Vec<KeyStatus>> {
    let rows = store::all(db).await?;
    let longest = schedule.longest(db).await?;
    let stages = timeline::stages(&rows, now.to_datetime(), longest);
    let mut listed: Vec<KeyStatus> = rows
        .into_iter()
        .zip(stages)
        .map(|(row, stage)| KeyStatus {
            kid: row.kid,
            alg: row.algorithm,
            state: stage.state,
            created_at: row.created_at,
            activates_at: stage.activates_at,
            retire_after: stage.retire_after,
        })
        .collect();
    listed.reverse();
    Ok(listed)
}

/// A new `alg` key that activates after the publish delay; its predecessor then retires.
pub async fn rotate(
    db: &DatabaseConnection,
    master: &MasterKeys,
    (alg, schedule): (Alg, &Schedule),
    now: UnixTime,
) -> anyhow::Result<signing_keys::Model> {
    let activates = now.plus(schedule.publish_delay);
    let row = generate(master, alg, schedule.rsa_bits, (now, activates)).await?;
    store::insert(db, row.clone()).await?;
    tracing::info!(kid = %row.kid, %alg, activates_at = %activates.to_datetime(), "rotated a signing key in");
    Ok(row)
}

/// Rotates every enabled algorithm whose newest key is older than `keys.rotate_after_days`
/// and has no successor waiting; what was rotated in.
pub async fn rotate_due(
    db: &DatabaseConnection,
    master: &MasterKeys,
    (algorithms, schedule): (&[Alg], &Schedule),
    now: UnixTime,
) -> anyhow::Result<Vec<signing_keys::Model>> {
    let Some(period) = schedule.rotate_after else {
        return Ok(vec![]);
    };
    let period = chrono::Duration::from_std(period)?;
    let rows = store::all(db).await?;
    let mut rotated = Vec::new();
    for &alg in algorithms {
        let newest = rows
            .iter()
            .filter(|r| r.algorithm == alg.as_str() && r.revoked_at.is_none())
            .map(timeline::activates_at)
            .max();
        let due = newest.is_some_and(|at| at + period <= now.to_datetime());
        if due {
            rotated.push(rotate(db, master, (alg, schedule), now).await?);
        }
    }
    Ok(rotated)
}

/// What a revocation did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Revoked {
    pub kid: String,
    /// When the revoked key was signing: the key that signs in its place, at once.
    pub replacement: Option<String>,
}

/// Takes `kid` out of the JWKS at once; its tokens stop verifying on every instance within
/// a poll. If it was signing, a new key of its algorithm signs at once: an emergency
/// cannot wait for the publish delay (relying parties fetch the JWKS again on an unknown
/// `kid`).
pub async fn revoke(
    db: &DatabaseConnection,
    master: &MasterKeys,
    (kid, schedule): (&str, &Schedule),
    now: UnixTime,
) -> anyhow::Result<Option<Revoked>> {
    let rows = store::all(db).await?;
    let longest = schedule.longest(db).await?;
    let stages = timeline::stages(&rows, now.to_datetime(), longest);
    let Some((row, stage)) = rows.iter().zip(stages).find(|(r, _)| r.kid == kid) else {
        return Ok(None);
    };
    if !store::revoke(db, kid, now.to_datetime()).await? {
        return Ok(None);
    }
    tracing::warn!(%kid, "revoked a signing key");
    let mut replacement = None;
    if stage.state == KeyState::Active {
        let alg = Alg::parse(&row.algorithm).context("the revoked key's algorithm")?;
        let row = generate(master, alg, schedule.rsa_bits, (now, now)).await?;
        store::insert(db, row.clone()).await?;
        replacement = Some(row.kid);
    }
    Ok(Some(Revoked {
        kid: kid.to_owned(),
        replacement,
    }))
}

/// A new key pair, sealed, created at `created` and signing from `activates`; generated
/// off the async workers (RSA takes tens of milliseconds).
pub(super) async fn generate(
    master: &MasterKeys,
    alg: Alg,
    bits: u32,
    (created, activates): (UnixTime, UnixTime),
) -> anyhow::Result<signing_keys::Model> {
    let (der, public) = crate::telemetry::spawn_blocking_with_tracing(move || alg.generate(bits))
        .await
        .context("key generation task")??;
    Ok(signing_keys::Model {
        kid: public.key_id().unwrap_or_default().to_owned(),
        algorithm: alg.as_str().to_owned(),
        private_key_jwe: master.encrypt(&der)?,
        public_jwk: public.to_string(),
        created_at: created.to_datetime(),
        retired_at: None,
        activates_at: Some(activates.to_datetime()),
        revoked_at: None,
    })
}
