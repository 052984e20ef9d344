//! The keys one instance holds at a time, built from the stored rows: for each enabled
//! algorithm the key that signs, every published key's verifier by `kid`, and the JWKS
//! document with its operator's view.

use std::collections::HashMap;

use anyhow::Context;
use chrono::{DateTime, Utc};
use josekit::jwk::{Jwk, JwkSet};
use josekit::jws::{JwsSigner, JwsVerifier};

use super::alg::Alg;
use super::master::MasterKeys;
use super::published::PublishedKey;
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
    pub jwks_json: String,
    pub published: Vec<PublishedKey>,
}

/// One public key as the JWKS and verification need it.
pub(super) struct Public {
    pub alg: Alg,
    pub jwk: Jwk,
    pub created_at: Option<DateTime<Utc>>,
}

impl Loaded {
    /// From the stored rows, newest first: each enabled algorithm's newest unretired key
    /// signs; every row of an enabled algorithm verifies. Rows of algorithms not enabled are
    /// left out of the JWKS.
    pub fn from_rows(
        master: &MasterKeys,
        rows: &[signing_keys::Model],
        enabled: &[Alg],
    ) -> anyhow::Result<Self> {
        let mut signers: [Option<Signing>; 3] = [None, None, None];
        let mut keys = Vec::with_capacity(rows.len());
        for row in rows {
            let Some(alg) = Alg::parse(&row.algorithm).filter(|a| enabled.contains(a)) else {
                continue;
            };
            let slot = &mut signers[alg as usize];
            if slot.is_none() && row.retired_at.is_none() {
                let what = format!("signing key {}", row.kid);
                let der = master.decrypt(&what, &row.private_key_jwe)?;
                let signer = alg.signer(&der)?;
                *slot = Some(Signing {
                    kid: row.kid.clone(),
                    signer,
                });
            }
            let jwk = Jwk::from_bytes(row.public_jwk.as_bytes()).context("stored public JWK")?;
            keys.push(Public {
                alg,
                jwk,
                created_at: Some(row.created_at),
            });
        }
        Self::assemble(signers, keys)
    }

    /// Verifiers and the JWKS for `keys`, the signing keys first in [`Alg::ALL`]'s order
    /// (the active RS256 key first of all, for relying parties that take the first key).
    pub fn assemble(signers: [Option<Signing>; 3], mut keys: Vec<Public>) -> anyhow::Result<Self> {
        for alg in Alg::ALL {
            if signers[alg as usize].is_none() && keys.iter().any(|k| k.alg == alg) {
                anyhow::bail!("no active {alg} signing key");
            }
        }
        let signing = |key: &Public| {
            let kid = key.jwk.key_id().unwrap_or_default();
            signers[key.alg as usize]
                .as_ref()
                .is_some_and(|s| s.kid == kid)
        };
        keys.sort_by_key(|key| (!signing(key), key.alg));
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
                signing(&key),
            ));
            jwks.push_key(key.jwk);
        }
        Ok(Self {
            signers,
            verifiers,
            jwks_json: jwks.to_string(),
            published,
        })
    }
}
