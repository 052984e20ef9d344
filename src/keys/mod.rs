//! Token signing keys: generation, encrypted storage, JWKS, signing and verification.
//! josekit is used here and nowhere else.

mod master;
mod published;
mod rewrap;
mod signer;
mod store;

use std::collections::HashMap;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::{Jwk, JwkSet, KeyPair};
use josekit::jws::{self, JwsHeader, JwsVerifier, RS256};
use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};

pub use master::{MasterKey, MasterKeys, open, seal};
pub use published::{KeyState, PublishedKey};
pub use rewrap::{RewrapCounts, RewrapReport, rewrap};
pub use signer::Rs256Signer;

use crate::clock::UnixTime;
use crate::entities::signing_keys;
use crate::settings::Settings;

pub const ALGORITHM: &str = "RS256";

/// What the CSRF form key is derived from the master key for (see [`MasterKey::derive`]).
const FORM_KEY_PURPOSE: &str = "csrf-form";

/// The keys in use: one that signs, all that verify, and the JWKS document for RPs.
pub struct KeyRing {
    /// Derived from the master key: keys the CSRF values of forms.
    form_key: [u8; 32],
    /// Derived from the previous master key during a rotation: still accepted for forms.
    previous_form_key: Option<[u8; 32]>,
    signing_kid: String,
    signer: Rs256Signer,
    verifiers: HashMap<String, Box<dyn JwsVerifier>>,
    jwks_json: String,
    /// What the JWKS holds, described for operators.
    published: Vec<PublishedKey>,
    /// Encrypts other secrets at rest the way the signing keys are (TOTP secrets).
    master: MasterKeys,
}

impl KeyRing {
    /// Loads the stored keys, generating the first one when there is none.
    pub async fn load_or_create(
        db: &DatabaseConnection,
        settings: &Settings,
        now: UnixTime,
    ) -> anyhow::Result<Self> {
        let master = MasterKeys::load(settings)?;
        let window = chrono::Duration::seconds(settings.keys.verification_window_secs);
        let since = now.to_datetime() - window;
        let mut rows = store::published(db, since).await?;
        if !rows.iter().any(|r| r.retired_at.is_none()) {
            let row = generate(&master, settings.keys.rsa_bits, now).await?;
            tracing::info!(kid = %row.kid, "generated a new RS256 signing key");
            store::insert(db, row).await?;
            // Re-read: if another instance generated one at the same moment, every instance
            // picks the same signer by the same ordering.
            rows = store::published(db, since).await?;
        }
        Self::from_rows(master, &rows)
    }

    fn from_rows(master: MasterKeys, rows: &[signing_keys::Model]) -> anyhow::Result<Self> {
        let active = rows
            .iter()
            .find(|r| r.retired_at.is_none())
            .context("no active signing key")?;
        let what = format!("signing key {}", active.kid);
        let private_der = master.decrypt(&what, &active.private_key_jwe)?;
        let signer = Rs256Signer::from_der(&private_der)?;
        let mut jwks = JwkSet::new();
        let mut verifiers: HashMap<String, Box<dyn JwsVerifier>> = HashMap::new();
        let mut published = Vec::with_capacity(rows.len());
        for row in rows {
            let jwk = Jwk::from_bytes(row.public_jwk.as_bytes()).context("stored public JWK")?;
            verifiers.insert(row.kid.clone(), Box::new(RS256.verifier_from_jwk(&jwk)?));
            let names = (row.kid.as_str(), row.algorithm.as_str());
            published.push(PublishedKey::of(
                &jwk,
                names,
                Some(row.created_at),
                &active.kid,
            ));
            jwks.push_key(jwk);
        }
        Ok(Self {
            form_key: master.current.derive(FORM_KEY_PURPOSE),
            previous_form_key: master.previous.as_ref().map(|p| p.derive(FORM_KEY_PURPOSE)),
            signing_kid: active.kid.clone(),
            signer,
            verifiers,
            jwks_json: jwks.to_string(),
            published,
            master,
        })
    }

    /// A key ring with one freshly generated key that is never stored (benchmarks, tools).
    pub fn in_memory(bits: u32) -> anyhow::Result<Self> {
        let pair = RS256.generate_key_pair(bits)?;
        let mut public = pair.to_jwk_public_key();
        let kid = thumbprint(&public)?;
        public.set_key_id(&kid);
        public.set_algorithm(ALGORITHM);
        public.set_key_use("sig");
        let mut jwks = JwkSet::new();
        let mut verifiers: HashMap<String, Box<dyn JwsVerifier>> = HashMap::new();
        verifiers.insert(kid.clone(), Box::new(RS256.verifier_from_jwk(&public)?));
        let published = vec![PublishedKey::of(&public, (&kid, ALGORITHM), None, &kid)];
        jwks.push_key(public);
        let mut form_key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut form_key);
        Ok(Self {
            form_key,
            previous_form_key: None,
            signing_kid: kid,
            signer: Rs256Signer::from_der(&pair.to_der_private_key())?,
            verifiers,
            jwks_json: jwks.to_string(),
            published,
            master: MasterKeys {
                current: MasterKey::from_encoded(&MasterKey::generate_encoded(), "a new key")?,
                previous: None,
            },
        })
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
        &self.jwks_json
    }

    /// The keys the JWKS holds, newest first, as an operator is shown them.
    pub fn published(&self) -> &[PublishedKey] {
        &self.published
    }

    pub fn signing_kid(&self) -> &str {
        &self.signing_kid
    }

    /// Signs already-serialised claims as a compact JWS with our `kid` and the given `typ`.
    pub fn sign(&self, typ: &str, claims_json: &[u8]) -> anyhow::Result<String> {
        let mut header = JwsHeader::new();
        header.set_token_type(typ);
        header.set_key_id(&self.signing_kid);
        Ok(jws::serialize_compact(claims_json, &header, &self.signer)?)
    }

    /// Verifies a compact JWS signed by one of our keys; returns the payload and `typ`.
    pub fn verify(&self, token: &str) -> anyhow::Result<(Vec<u8>, Option<String>)> {
        let (payload, header) = jws::deserialize_compact_with_selector(token, |header| {
            if header.algorithm() != Some(ALGORITHM) {
                return Ok(None);
            }
            Ok(header
                .key_id()
                .and_then(|kid| self.verifiers.get(kid))
                .map(|v| &**v))
        })?;
        Ok((payload, header.token_type().map(str::to_owned)))
    }
}

/// Verifies a compact JWS against a client's JWKS (RS256 or ES256, chosen by `kid` when
/// given). Returns the payload; claims are the caller's to check.
pub fn verify_with_jwks(jwks_json: &str, token: &str) -> anyhow::Result<Vec<u8>> {
    let set = JwkSet::from_bytes(jwks_json.as_bytes()).context("client JWKS")?;
    let mut candidates: Vec<(String, Box<dyn JwsVerifier>)> = Vec::new();
    for jwk in set.keys() {
        let verifier: Option<Box<dyn JwsVerifier>> = match jwk.key_type() {
            "RSA" => RS256
                .verifier_from_jwk(jwk)
                .ok()
                .map(|v| Box::new(v) as Box<dyn JwsVerifier>),
            "EC" => josekit::jws::ES256
                .verifier_from_jwk(jwk)
                .ok()
                .map(|v| Box::new(v) as Box<dyn JwsVerifier>),
            _ => None,
        };
        if let Some(verifier) = verifier {
            candidates.push((jwk.key_id().unwrap_or_default().to_owned(), verifier));
        }
    }
    let (payload, _) = jws::deserialize_compact_with_selector(token, |header| {
        let alg = header.algorithm().unwrap_or_default();
        if alg != "RS256" && alg != "ES256" {
            return Ok(None);
        }
        let chosen = candidates.iter().find(|(kid, v)| {
            v.algorithm().name() == alg && header.key_id().is_none_or(|wanted| wanted == kid)
        });
        Ok(chosen.map(|(_, v)| &**v))
    })?;
    Ok(payload)
}

/// The most a client's registered JWK Set may hold, in bytes.
const MAX_CLIENT_JWKS: usize = 16 * 1024;

/// Whether a client's JWK Set, given at registration, can verify its assertions: public
/// RSA or P-256 keys only (a private member would mean the client handed us its secret),
/// at least one, and not too large. The reason when not.
pub fn check_client_jwks(jwks_json: &str) -> Result<(), String> {
    if jwks_json.len() > MAX_CLIENT_JWKS {
        return Err(format!("at most {MAX_CLIENT_JWKS} bytes"));
    }
    let set = JwkSet::from_bytes(jwks_json.as_bytes())
        .map_err(|_| "not a JWK Set (RFC 7517 §5)".to_owned())?;
    if set.keys().is_empty() {
        return Err("it holds no key".to_owned());
    }
    for jwk in set.keys() {
        if jwk.parameter("d").is_some() {
            return Err("a key holds private material: send public keys only".to_owned());
        }
        let usable = match jwk.key_type() {
            "RSA" => RS256.verifier_from_jwk(jwk).is_ok(),
            "EC" => josekit::jws::ES256.verifier_from_jwk(jwk).is_ok(),
            _ => false,
        };
        if !usable {
            return Err("keys must be RSA (RS256) or EC P-256 (ES256) public keys".to_owned());
        }
    }
    Ok(())
}

/// Generates an RSA key pair off the async workers (it takes tens of milliseconds).
async fn generate(
    master: &MasterKeys,
    bits: u32,
    now: UnixTime,
) -> anyhow::Result<signing_keys::Model> {
    let pair = crate::telemetry::spawn_blocking_with_tracing(move || RS256.generate_key_pair(bits))
        .await
        .context("key generation task")??;
    let mut public = pair.to_jwk_public_key();
    let kid = thumbprint(&public)?;
    public.set_key_id(&kid);
    public.set_algorithm(ALGORITHM);
    public.set_key_use("sig");
    Ok(signing_keys::Model {
        kid,
        algorithm: ALGORITHM.to_owned(),
        private_key_jwe: master.encrypt(&pair.to_der_private_key())?,
        public_jwk: public.to_string(),
        created_at: now.to_datetime(),
        retired_at: None,
    })
}

/// RFC 7638 JWK thumbprint (SHA-256) of an RSA public key: members `e`, `kty`, `n` in order.
fn thumbprint(jwk: &Jwk) -> anyhow::Result<String> {
    let member = |name: &str| -> anyhow::Result<String> {
        match jwk.parameter(name).and_then(|v| v.as_str()) {
            Some(v) => Ok(v.to_owned()),
            None => bail!("RSA JWK lacks {name}"),
        }
    };
    let canonical = format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        member("e")?,
        member("n")?
    );
    Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}

#[cfg(test)]
mod tests;
