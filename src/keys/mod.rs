//! Token signing keys: generation, encrypted storage, JWKS, signing and verification.
//! josekit is used here and nowhere else.

mod alg;
mod client_jwks;
mod curve_signer;
mod loaded;
mod master;
mod notices;
mod published;
mod rewrap;
pub mod rotation;
mod signer;
mod store;
mod timeline;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use anyhow::Context;
use arc_swap::ArcSwap;
use josekit::jws::{self, JwsHeader};
use sea_orm::DatabaseConnection;

pub use alg::{Alg, enabled};
pub use client_jwks::{check_client_jwks, verify_with_jwks};
pub use master::{MasterKey, MasterKeys, open, seal};
pub use published::{KeyState, PublishedKey};
pub use rewrap::{RewrapCounts, RewrapReport, rewrap};
pub use rotation::Schedule;
pub use signer::Rs256Signer;

use self::loaded::{Loaded, Public, Signing};
use self::published::KeyState as State;
use self::timeline::Stage;
use crate::clock::{SharedClock, UnixTime};
use crate::settings::Settings;

/// What the CSRF form key is derived from the master key for (see [`MasterKey::derive`]).
const FORM_KEY_PURPOSE: &str = "csrf-form";

/// How often an instance reads the keys again: a rotation, a revocation or a key's
/// activation reaches it within this (and a publish delay is far longer).
pub const POLL: Duration = Duration::from_secs(2);
/// How often an instance checks whether a key is due for rotation (by its clock).
const ROTATION_CHECK: Duration = Duration::from_secs(60);

/// The keys in use: for each enabled algorithm one that signs, all that verify, and the
/// JWKS document for relying parties; replaced whole when the stored keys change.
pub struct KeyRing {
    /// Derived from the master key: keys the CSRF values of forms.
    form_key: [u8; 32],
    /// Derived from the previous master key during a rotation: still accepted for forms.
    previous_form_key: Option<[u8; 32]>,
    /// The enabled algorithms, RS256 first.
    algorithms: Vec<Alg>,
    loaded: ArcSwap<Loaded>,
    /// Encrypts other secrets at rest the way the signing keys are (TOTP secrets).
    master: MasterKeys,
    schedule: Schedule,
    /// The JWKS `Cache-Control`, built once (see [`KeyRing::jwks_cache_control`]).
    jwks_cache_control: String,
    /// Whether the stored keys were last read and loaded without error (`/readyz`).
    clean: AtomicBool,
}

/// How long relying parties may cache the JWKS at most.
const JWKS_MAX_AGE_SECS: u64 = 300;

impl KeyRing {
    /// Loads the stored keys, generating a key that signs at once for each enabled
    /// algorithm (`keys.algorithms`) that has none.
    pub async fn load_or_create(
        db: &DatabaseConnection,
        settings: &Settings,
        now: UnixTime,
    ) -> anyhow::Result<Self> {
        let master = MasterKeys::load(settings)?;
        let algorithms = enabled(&settings.keys.algorithms)?;
        let schedule = Schedule::new(&settings.keys, &settings.tokens);
        let longest = schedule.longest(db).await?;
        let rows = store::all(db).await?;
        let current = loaded::fingerprint(&rows, &algorithms, now.to_datetime(), longest);
        let mut generated = false;
        for &alg in &algorithms {
            let active = |(kid, state): &(String, State)| {
                *state == State::Active
                    && rows
                        .iter()
                        .any(|r| &r.kid == kid && r.algorithm == alg.as_str())
            };
            if !current.iter().any(active) {
                let row = rotation::generate(&master, alg, schedule.rsa_bits, (now, now)).await?;
                tracing::info!(kid = %row.kid, %alg, "generated a new signing key");
                store::insert(db, row).await?;
                generated = true;
            }
        }
        // Re-read: if another instance generated one at the same moment, every instance
        // picks the same signer by the same ordering.
        let rows = if generated {
            store::all(db).await?
        } else {
            rows
        };
        let loaded = Loaded::from_rows(&master, &rows, &algorithms, (now.to_datetime(), longest))?;
        Ok(Self::with(master, algorithms, loaded, schedule))
    }

    fn with(master: MasterKeys, algorithms: Vec<Alg>, loaded: Loaded, schedule: Schedule) -> Self {
        let max_age = JWKS_MAX_AGE_SECS.min(schedule.publish_delay.as_secs() / 2);
        Self {
            jwks_cache_control: format!("public, max-age={max_age}"),
            form_key: master.current.derive(FORM_KEY_PURPOSE),
            previous_form_key: master.previous.as_ref().map(|p| p.derive(FORM_KEY_PURPOSE)),
            algorithms,
            loaded: ArcSwap::from_pointee(loaded),
            master,
            schedule,
            clean: AtomicBool::new(true),
        }
    }

    /// A key ring with a freshly generated key of every algorithm, never stored
    /// (benchmarks, tools, tests).
    pub fn in_memory(bits: u32) -> anyhow::Result<Self> {
        let mut signers: [Option<Signing>; 3] = [None, None, None];
        let mut keys = Vec::new();
        let since = chrono::DateTime::UNIX_EPOCH;
        for alg in Alg::ALL {
            let (der, jwk) = alg.generate(bits)?;
            let kid = jwk.key_id().unwrap_or_default().to_owned();
            signers[alg as usize] = Some(Signing {
                kid,
                signer: alg.signer(&der)?,
            });
            keys.push(Public {
                alg,
                jwk,
                created_at: None,
                stage: Stage::active_since(since),
            });
        }
        let master = MasterKeys {
            current: MasterKey::from_encoded(&MasterKey::generate_encoded(), "a new key")?,
            previous: None,
        };
        let loaded = Loaded::assemble(signers, keys)?;
        let schedule = Schedule {
            publish_delay: Duration::from_secs(3600),
            rotate_after: None,
            rsa_bits: bits,
            token_lifetime: Duration::from_secs(600),
            window: Duration::ZERO,
        };
        Ok(Self::with(master, Alg::ALL.to_vec(), loaded, schedule))
    }

    /// Reads the stored keys again and takes them up if anything changed: a key rotated in
    /// or revoked (by any instance or the CLI), or one whose time to sign or to leave the
    /// JWKS has come. Whether it changed.
    pub async fn refresh(&self, db: &DatabaseConnection, now: UnixTime) -> anyhow::Result<bool> {
        let rows = store::all(db).await?;
        let longest = self.schedule.longest(db).await?;
        let now = now.to_datetime();
        let seen = loaded::fingerprint(&rows, &self.algorithms, now, longest);
        if seen == self.loaded.load().fingerprint {
            self.clean.store(true, Ordering::Relaxed);
            return Ok(false);
        }
        let loaded = Loaded::from_rows(&self.master, &rows, &self.algorithms, (now, longest));
        // A key that cannot be decrypted (or an algorithm left without an active key) keeps
        // the held keys signing, and the instance unready until the keys load again.
        self.clean.store(loaded.is_ok(), Ordering::Relaxed);
        self.loaded.store(Arc::new(loaded?));
        tracing::info!(keys = ?seen, "signing keys changed");
        Ok(true)
    }

    /// False while the stored keys cannot be loaded (this instance signs with the keys it
    /// held before, which may have been revoked or replaced since).
    pub fn loaded_cleanly(&self) -> bool {
        self.clean.load(Ordering::Relaxed)
    }

    /// Follows the stored keys every [`POLL`] (and at once on PostgreSQL, by notification)
    /// and rotates keys that are due, until the key ring is dropped. A failed read keeps the
    /// keys held (and is logged): an outage never takes a key away.
    pub fn watch(ring: &Arc<Self>, db: DatabaseConnection, clock: SharedClock) {
        let ring: Weak<Self> = Arc::downgrade(ring);
        notices::follow(ring.clone(), db.clone(), clock.clone());
        tokio::spawn(async move {
            let mut checked = clock.now();
            loop {
                tokio::time::sleep(POLL).await;
                let Some(ring) = ring.upgrade() else {
                    return;
                };
                let now = clock.now();
                if now.since(checked) >= ROTATION_CHECK {
                    checked = now;
                    if let Err(e) = ring.rotate_due(&db, now).await {
                        tracing::error!(error = format!("{e:#}"), "scheduled key rotation failed");
                    }
                }
                if let Err(e) = ring.refresh(&db, clock.now()).await {
                    tracing::warn!(error = format!("{e:#}"), "cannot read the signing keys");
                }
            }
        });
    }

    async fn rotate_due(&self, db: &DatabaseConnection, now: UnixTime) -> anyhow::Result<()> {
        let context = (self.algorithms.as_slice(), &self.schedule);
        rotation::rotate_due(db, &self.master, context, now).await?;
        Ok(())
    }

    /// Encrypts a secret for storage under the current master key (a compact JWE).
    pub fn seal_secret(&self, plaintext: &[u8]) -> anyhow::Result<String> {
        self.master.encrypt(plaintext)
    }

    /// Decrypts a stored secret, under the previous master key too during a rotation;
    /// `what` names it in errors.
    pub fn open_secret(&self, what: &str, sealed: &str) -> anyhow::Result<Vec<u8>> {
        self.master.decrypt(what, sealed)
    }

    /// The master keys, for the admin service's rotation and revocation.
    pub fn master(&self) -> &MasterKeys {
        &self.master
    }

    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// The key form CSRF values are computed with (the same on every instance).
    pub fn form_key(&self) -> [u8; 32] {
        self.form_key
    }

    /// The form key of the previous master key while one is configured, so that forms an
    /// instance not yet restarted with the new key served still post to one that was.
    pub fn previous_form_key(&self) -> Option<[u8; 32]> {
        self.previous_form_key
    }

    /// The JWKS's `Cache-Control`: five minutes, and never more than half the publish delay,
    /// so a relying party that honours it has a rotated-in key well before the key signs.
    pub fn jwks_cache_control(&self) -> &str {
        &self.jwks_cache_control
    }

    /// The JWKS document (RFC 7517 §5) with every key published now.
    pub fn jwks_json(&self) -> Arc<str> {
        self.loaded.load().jwks_json.clone()
    }

    /// The keys the JWKS holds, signing keys first, as an operator is shown them.
    pub fn published(&self) -> Vec<PublishedKey> {
        self.loaded.load().published.clone()
    }

    /// Sets each algorithm's `signing_key_age_seconds` (since its signing key began to sign;
    /// a scheduled rotation keeps it under the rotation period plus the publish delay) and
    /// the rotation period.
    pub fn report_ages(&self, metrics: &crate::metrics::Metrics, now: UnixTime) {
        metrics.signing_key_rotation_period(self.schedule.rotate_after.unwrap_or_default());
        let loaded = self.loaded.load();
        let signing = loaded
            .published
            .iter()
            .filter(|k| k.state == KeyState::Active);
        for key in signing {
            if let Some(since) = key.activates_at.or(key.created_at) {
                let age = (now.to_datetime() - since).to_std().unwrap_or_default();
                metrics.signing_key_age(&key.alg, age);
            }
        }
    }

    /// The algorithms tokens may be signed with, RS256 first.
    pub fn algorithms(&self) -> &[Alg] {
        &self.algorithms
    }

    /// The `kid` of the RS256 key that signs now.
    pub fn signing_kid(&self) -> String {
        self.signing_kid_of(Alg::Rs256).unwrap_or_default()
    }

    /// The `kid` of the key that signs with `alg` now, if that algorithm is enabled.
    pub fn signing_kid_of(&self, alg: Alg) -> Option<String> {
        let loaded = self.loaded.load();
        loaded.signers[alg as usize].as_ref().map(|s| s.kid.clone())
    }

    /// Signs already-serialised claims with RS256 as a compact JWS with our `kid` and `typ`.
    pub fn sign(&self, typ: &str, claims_json: &[u8]) -> anyhow::Result<String> {
        self.sign_with(Alg::Rs256, typ, claims_json)
    }

    /// Signs already-serialised claims with `alg`'s active key.
    pub fn sign_with(&self, alg: Alg, typ: &str, claims_json: &[u8]) -> anyhow::Result<String> {
        let loaded = self.loaded.load();
        let signing = loaded.signers[alg as usize]
            .as_ref()
            .with_context(|| format!("{alg} is not among keys.algorithms"))?;
        let mut header = JwsHeader::new();
        header.set_token_type(typ);
        header.set_key_id(&signing.kid);
        Ok(jws::serialize_compact(
            claims_json,
            &header,
            &*signing.signer,
        )?)
    }

    /// Verifies a compact JWS signed by one of our published keys with that key's
    /// algorithm; returns the payload and `typ`.
    pub fn verify(&self, token: &str) -> anyhow::Result<(Vec<u8>, Option<String>)> {
        let loaded = self.loaded.load();
        let (payload, header) = jws::deserialize_compact_with_selector(token, |header| {
            let found = header.key_id().and_then(|kid| loaded.verifiers.get(kid));
            Ok(found
                .filter(|(alg, _)| header.algorithm() == Some(alg.as_str()))
                .map(|(_, verifier)| &**verifier))
        })?;
        Ok((payload, header.token_type().map(str::to_owned)))
    }
}

#[cfg(test)]
mod tests;
