//! The keys one instance holds at a time, built from the stored rows: for each enabled
//! algorithm the key that signs, every published key's verifier by `kid`, and the JWKS
//! document with its operator's view.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use josekit::jwk::{Jwk, JwkSet};
use josekit::jws::{JwsSigner, JwsVerifier};

use super::alg::Alg;
use super::master::MasterKeys;
use super::published::{KeyState, PublishedKey};
use super::timeline::{self, Stage};
use crate::entities::signing_keys;

/// The key that signs for one algorithm.
pub(super) struct Signing {
    pub kid: String,
    pub signer: Box<dyn JwsSigner>,
}

pub(super) struct Loaded {
    /// Indexed by [`Alg`] (`as usize`): no hashing on the token path.
    pub signers: [Option<Signing>; 3],
    pub verifiers: HashMap<String, (Alg, Box<dyn JwsVerifier>)>,
    pub jwks_json: Arc<str>,
    pub published: Vec<PublishedKey>,
    /// Each published key and its state: what a reload compares to know whether anything
    /// changed.
    pub fingerprint: Vec<(String, KeyState)>,
}

/// One public key as the JWKS and verification need it.
pub(super) struct Public {
    pub alg: Alg,
    pub jwk: Jwk,
    pub created_at: Option<DateTime<Utc>>,
    pub stage: Stage,
}

/// What [`Loaded::from_rows`] would hold at `now`, without decrypting anything.
pub(super) fn fingerprint(
    rows: &[signing_keys::Model],
    enabled: &[Alg],
    now: DateTime<Utc>,
    longest: Duration,
) -> Vec<(String, KeyState)> {
    let rows = of_enabled(rows, enabled);
    let stages = timeline::stages(&rows, now, longest);
    let mut seen: Vec<(String, KeyState)> = rows
        .iter()
        .zip(&stages)
        .filter(|(_, stage)| stage.state.is_published())
        .map(|(row, stage)| (row.kid.clone(), stage.state))
        .collect();
    seen.sort();
    seen
}

fn of_enabled(rows: &[signing_keys::Model], enabled: &[Alg]) -> Vec<signing_keys::Model> {
    rows.iter()
        .filter(|r| Alg::parse(&r.algorithm).is_some_and(|a| enabled.contains(&a)))
        .cloned()
        .collect()
}

impl Loaded {
    /// From the stored rows at `now`: each enabled algorithm's active key signs; the next,
    /// active and retiring keys verify and are published (see `keys::timeline`). Rows of
    /// algorithms not enabled are left out.
    pub fn from_rows(
        master: &MasterKeys,
        rows: &[signing_keys::Model],
        enabled: &[Alg],
        (now, longest): (DateTime<Utc>, Duration),
    ) -> anyhow::Result<Self> {
        let rows = of_enabled(rows, enabled);
        let stages = timeline::stages(&rows, now, longest);
        let mut signers: [Option<Signing>; 3] = [None, None, None];
        let mut keys = Vec::with_capacity(rows.len());
        for (row, stage) in rows.iter().zip(stages) {
            let Some(alg) = Alg::parse(&row.algorithm) else {
                continue;
            };
            if !stage.state.is_published() {
                continue;
            }
            if stage.state == KeyState::Active {
                let what = format!("signing key {}", row.kid);
                let der = master.decrypt(&what, &row.private_key_jwe)?;
                let signer = alg.signer(&der)?;
                signers[alg as usize] = Some(Signing {
                    kid: row.kid.clone(),
                    signer,
                });
            }
            let jwk = Jwk::from_bytes(row.public_jwk.as_bytes()).context("stored public JWK")?;
            keys.push(Public {
                alg,
                jwk,
                created_at: Some(row.created_at),
                stage,
            });
        }
        Self::assemble(signers, keys)
    }

    /// Verifiers and the JWKS for `keys`, the signing keys first in [`Alg::ALL`]'s order
    /// (the active RS256 key first of all, for relying parties that take the first key).
    pub fn assemble(signers: [Option<Signing>; 3], mut keys: Vec<Public>) -> anyhow::Result<Self> {
        for alg in Alg::ALL {
            if signers[alg as usize].is_none() && keys.iter().any(|k| k.alg == alg) {
                anyhow::bail!("no active {alg} signing key (revoked, or not yet active)");
            }
        }
        let rank = |state: KeyState| match state {
            KeyState::Active => 0,
            KeyState::Next => 1,
            _ => 2,
        };
        keys.sort_by_key(|key| (rank(key.stage.state), key.alg));
        let mut jwks = JwkSet::new();
        let mut verifiers = HashMap::with_capacity(keys.len());
        let mut published = Vec::with_capacity(keys.len());
        for key in keys {
            let kid = key.jwk.key_id().unwrap_or_default().to_owned();
            verifiers.insert(kid.clone(), (key.alg, key.alg.verifier(&key.jwk)?));
            let names = (kid.as_str(), key.alg.as_str());
            published.push(PublishedKey::of(
                &key.jwk,
                names,
                key.created_at,
                &key.stage,
            ));
            jwks.push_key(key.jwk);
        }
        let mut fingerprint: Vec<(String, KeyState)> =
            published.iter().map(|k| (k.kid.clone(), k.state)).collect();
        fingerprint.sort();
        Ok(Self {
            signers,
            verifiers,
            jwks_json: jwks.to_string().into(),
            published,
            fingerprint,
        })
    }
}
