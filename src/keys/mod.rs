//! Token signing keys: generation, encrypted storage, JWKS, signing and verification.
//! josekit is used here and nowhere else.

mod alg;
mod client_jwks;
mod loaded;
mod master;
mod published;
mod rewrap;
mod signer;
mod store;

use anyhow::Context;
use josekit::jws::{self, JwsHeader};
use sea_orm::DatabaseConnection;

pub use alg::{Alg, enabled};
pub use client_jwks::{check_client_jwks, verify_with_jwks};
pub use master::{MasterKey, MasterKeys, open, seal};
pub use published::{KeyState, PublishedKey};
pub use rewrap::{RewrapCounts, RewrapReport, rewrap};
pub use signer::Rs256Signer;

use self::loaded::{Loaded, Public, Signing};
use crate::clock::UnixTime;
use crate::entities::signing_keys;
use crate::settings::Settings;

/// What the CSRF form key is derived from the master key for (see [`MasterKey::derive`]).
const FORM_KEY_PURPOSE: &str = "csrf-form";

/// The keys in use: for each enabled algorithm one that signs, all that verify, and the
/// JWKS document for relying parties.
pub struct KeyRing {
    /// Derived from the master key: keys the CSRF values of forms.
    form_key: [u8; 32],
    /// Derived from the previous master key during a rotation: still accepted for forms.
    previous_form_key: Option<[u8; 32]>,
    /// The enabled algorithms, RS256 first.
    algorithms: Vec<Alg>,
    loaded: Loaded,
    /// Encrypts other secrets at rest the way the signing keys are (TOTP secrets).
    master: MasterKeys,
}

impl KeyRing {
    /// Loads the stored keys, generating the first key of each enabled algorithm
    /// (`keys.algorithms`) that has none.
    pub async fn load_or_create(
        db: &DatabaseConnection,
        settings: &Settings,
        now: UnixTime,
    ) -> anyhow::Result<Self> {
        let master = MasterKeys::load(settings)?;
        let algorithms = enabled(&settings.keys.algorithms)?;
        let window = chrono::Duration::seconds(settings.keys.verification_window_secs);
        let since = now.to_datetime() - window;
        let mut rows = store::published(db, since).await?;
        let mut generated = false;
        for &alg in &algorithms {
            let active =
                |r: &signing_keys::Model| r.algorithm == alg.as_str() && r.retired_at.is_none();
            if !rows.iter().any(active) {
                let row = generate(&master, alg, settings.keys.rsa_bits, now).await?;
                tracing::info!(kid = %row.kid, %alg, "generated a new signing key");
                store::insert(db, row).await?;
                generated = true;
            }
        }
        if generated {
            // Re-read: if another instance generated one at the same moment, every instance
            // picks the same signer by the same ordering.
            rows = store::published(db, since).await?;
        }
        let loaded = Loaded::from_rows(&master, &rows, &algorithms)?;
        Ok(Self::with(master, algorithms, loaded))
    }

    fn with(master: MasterKeys, algorithms: Vec<Alg>, loaded: Loaded) -> Self {
        Self {
            form_key: master.current.derive(FORM_KEY_PURPOSE),
            previous_form_key: master.previous.as_ref().map(|p| p.derive(FORM_KEY_PURPOSE)),
            algorithms,
            loaded,
            master,
        }
    }

    /// A key ring with a freshly generated key of every algorithm, never stored
    /// (benchmarks, tools, tests).
    pub fn in_memory(bits: u32) -> anyhow::Result<Self> {
        let mut signers: [Option<Signing>; 3] = [None, None, None];
        let mut keys = Vec::new();
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
            });
        }
        let master = MasterKeys {
            current: MasterKey::from_encoded(&MasterKey::generate_encoded(), "a new key")?,
            previous: None,
        };
        let loaded = Loaded::assemble(signers, keys)?;
        Ok(Self::with(master, Alg::ALL.to_vec(), loaded))
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

    /// The key form CSRF values are computed with (the same on every instance).
    pub fn form_key(&self) -> [u8; 32] {
        self.form_key
    }

    /// The form key of the previous master key while one is configured, so that forms an
    /// instance not yet restarted with the new key served still post to one that was.
    pub fn previous_form_key(&self) -> Option<[u8; 32]> {
        self.previous_form_key
    }

    /// The JWKS document (RFC 7517 §5) with every key still valid for verification.
    pub fn jwks_json(&self) -> &str {
        &self.loaded.jwks_json
    }

    /// The keys the JWKS holds, signing keys first, as an operator is shown them.
    pub fn published(&self) -> &[PublishedKey] {
        &self.loaded.published
    }

    /// The algorithms tokens may be signed with, RS256 first.
    pub fn algorithms(&self) -> &[Alg] {
        &self.algorithms
    }

    /// The `kid` of the RS256 key that signs now.
    pub fn signing_kid(&self) -> &str {
        self.signing_kid_of(Alg::Rs256).unwrap_or_default()
    }

    /// The `kid` of the key that signs with `alg` now, if that algorithm is enabled.
    pub fn signing_kid_of(&self, alg: Alg) -> Option<&str> {
        self.loaded.signers[alg as usize]
            .as_ref()
            .map(|s| s.kid.as_str())
    }

    /// Signs already-serialised claims with RS256 as a compact JWS with our `kid` and `typ`.
    pub fn sign(&self, typ: &str, claims_json: &[u8]) -> anyhow::Result<String> {
        self.sign_with(Alg::Rs256, typ, claims_json)
    }

    /// Signs already-serialised claims with `alg`'s active key.
    pub fn sign_with(&self, alg: Alg, typ: &str, claims_json: &[u8]) -> anyhow::Result<String> {
        let signing = self.loaded.signers[alg as usize]
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

    /// Verifies a compact JWS signed by one of our keys with the algorithm of that key;
    /// returns the payload and `typ`.
    pub fn verify(&self, token: &str) -> anyhow::Result<(Vec<u8>, Option<String>)> {
        let (payload, header) = jws::deserialize_compact_with_selector(token, |header| {
            let found = header
                .key_id()
                .and_then(|kid| self.loaded.verifiers.get(kid));
            Ok(found
                .filter(|(alg, _)| header.algorithm() == Some(alg.as_str()))
                .map(|(_, verifier)| &**verifier))
        })?;
        Ok((payload, header.token_type().map(str::to_owned)))
    }
}

/// Generates a key pair off the async workers (RSA takes tens of milliseconds).
async fn generate(
    master: &MasterKeys,
    alg: Alg,
    bits: u32,
    now: UnixTime,
) -> anyhow::Result<signing_keys::Model> {
    let (der, public) = crate::telemetry::spawn_blocking_with_tracing(move || alg.generate(bits))
        .await
        .context("key generation task")??;
    Ok(signing_keys::Model {
        kid: public.key_id().unwrap_or_default().to_owned(),
        algorithm: alg.as_str().to_owned(),
        private_key_jwe: master.encrypt(&der)?,
        public_jwk: public.to_string(),
        created_at: now.to_datetime(),
        retired_at: None,
    })
}

#[cfg(test)]
mod tests;
