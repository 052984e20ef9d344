//! ES256 signatures by `ring` and EdDSA signatures by `ed25519-dalek`, for josekit to
//! assemble JWS with.
//!
//! josekit's own ECDSA and EdDSA signers go through OpenSSL's EVP one-shot calls, which set
//! up a new signing context for every signature. Measured on one core of the benchmark
//! machine: P-256 signatures 35k/s through josekit, 40k/s on a prepared OpenSSL context,
//! 53k/s with ring; Ed25519 18–22k/s through josekit, 21–22k/s with ring, 24–28k/s with
//! ed25519-dalek (its precomputed base-point tables). Both crates are already in the tree
//! (rustls uses ring, openidconnect ed25519-dalek). josekit still builds, serialises and
//! verifies the JWS: it takes any `JwsSigner`. Keys stay PKCS#8 DER as stored; OpenSSL
//! reads them once, at load, for the parts each crate takes.

use std::sync::Arc;

use anyhow::{Context, anyhow};
use josekit::JoseError;
use josekit::jws::{ES256, EdDSA, JwsAlgorithm, JwsSigner};
use openssl::bn::BigNumContext;
use openssl::ec::PointConversionForm;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use zeroize::Zeroizing;

/// ES256 (RFC 7518 §3.4): ECDSA P-256 with SHA-256, the signature as `R || S`, 64 bytes —
/// ring's "fixed" encoding is exactly JWS's.
#[derive(Clone)]
pub struct Es256Signer {
    pair: Arc<EcdsaKeyPair>,
    rng: SystemRandom,
}

impl Es256Signer {
    /// A signer for a P-256 private key in PKCS#8 DER. ring reads only its own PKCS#8
    /// form, without the curve parameters OpenSSL writes, so it is given the private scalar
    /// and the public point instead.
    pub fn from_der(pkcs8_der: &[u8]) -> anyhow::Result<Self> {
        let key = PKey::private_key_from_der(pkcs8_der)?;
        let ec = key.ec_key().context("the signing key is not an EC key")?;
        anyhow::ensure!(
            ec.group().curve_name() == Some(Nid::X9_62_PRIME256V1),
            "the ES256 signing key is not on P-256"
        );
        let scalar = Zeroizing::new(ec.private_key().to_vec_padded(32)?);
        let mut ctx = BigNumContext::new()?;
        let point =
            ec.public_key()
                .to_bytes(ec.group(), PointConversionForm::UNCOMPRESSED, &mut ctx)?;
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_private_key_and_public_key(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &scalar,
            &point,
            &rng,
        )
        .map_err(|e| anyhow!("the P-256 key was refused: {e}"))?;
        Ok(Self {
            pair: Arc::new(pair),
            rng,
        })
    }
}

impl JwsSigner for Es256Signer {
    fn algorithm(&self) -> &dyn JwsAlgorithm {
        &ES256
    }

    fn key_id(&self) -> Option<&str> {
        None
    }

    fn signature_len(&self) -> usize {
        64
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, JoseError> {
        let signature = self
            .pair
            .sign(&self.rng, message)
            .map_err(|_| JoseError::InvalidSignature(anyhow!("ECDSA signing failed")))?;
        Ok(signature.as_ref().to_vec())
    }

    fn box_clone(&self) -> Box<dyn JwsSigner> {
        Box::new(self.clone())
    }
}

/// EdDSA with Ed25519 (RFC 8037 §3.1): deterministic, 64 bytes.
#[derive(Clone)]
pub struct Ed25519Signer {
    key: Arc<ed25519_dalek::SigningKey>,
}

impl Ed25519Signer {
    /// A signer for an Ed25519 private key in PKCS#8 DER: its 32-byte seed (RFC 8032 §5.1.5).
    pub fn from_der(pkcs8_der: &[u8]) -> anyhow::Result<Self> {
        let key = PKey::private_key_from_der(pkcs8_der)?;
        anyhow::ensure!(
            key.id() == openssl::pkey::Id::ED25519,
            "the EdDSA signing key is not an Ed25519 key"
        );
        let raw = Zeroizing::new(key.raw_private_key()?);
        let seed: &[u8; 32] = raw
            .as_slice()
            .try_into()
            .context("an Ed25519 seed is 32 bytes")?;
        Ok(Self {
            key: Arc::new(ed25519_dalek::SigningKey::from_bytes(seed)),
        })
    }
}

impl JwsSigner for Ed25519Signer {
    fn algorithm(&self) -> &dyn JwsAlgorithm {
        &EdDSA
    }

    fn key_id(&self) -> Option<&str> {
        None
    }

    fn signature_len(&self) -> usize {
        64
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, JoseError> {
        use ed25519_dalek::Signer as _;
        Ok(self.key.sign(message).to_bytes().to_vec())
    }

    fn box_clone(&self) -> Box<dyn JwsSigner> {
        Box::new(self.clone())
    }
}

impl std::fmt::Debug for Es256Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Es256Signer").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Ed25519Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ed25519Signer").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use josekit::jwk::KeyPair;
    use josekit::jwk::alg::ed::EdCurve;

    use super::*;

    const MESSAGES: [&[u8]; 3] = [b"header.payload", b"", &[7u8; 5000]];

    #[test]
    fn es256_signatures_verify_with_josekit() {
        let pair = ES256.generate_key_pair().unwrap();
        let ours = Es256Signer::from_der(&pair.to_der_private_key()).unwrap();
        let verifier = ES256.verifier_from_jwk(&pair.to_jwk_public_key()).unwrap();
        for message in MESSAGES {
            let signature = ours.sign(message).unwrap();
            assert_eq!(signature.len(), 64);
            verifier.verify(message, &signature).unwrap();
            assert!(verifier.verify(b"other", &signature).is_err());
        }
    }

    #[test]
    fn ed25519_signs_exactly_as_josekit() {
        let pair = EdDSA.generate_key_pair(EdCurve::Ed25519).unwrap();
        let der = pair.to_der_private_key();
        let ours = Ed25519Signer::from_der(&der).unwrap();
        let theirs = EdDSA.signer_from_der(&der).unwrap();
        let verifier = EdDSA.verifier_from_jwk(&pair.to_jwk_public_key()).unwrap();
        for message in MESSAGES {
            let signature = ours.sign(message).unwrap();
            assert_eq!(signature, theirs.sign(message).unwrap());
            verifier.verify(message, &signature).unwrap();
        }
    }

    #[test]
    fn a_key_of_another_kind_is_refused() {
        let ed = EdDSA.generate_key_pair(EdCurve::Ed25519).unwrap();
        let p384 = josekit::jws::ES384.generate_key_pair().unwrap();
        assert!(Es256Signer::from_der(&ed.to_der_private_key()).is_err());
        assert!(Es256Signer::from_der(&p384.to_der_private_key()).is_err());
        let ec = ES256.generate_key_pair().unwrap();
        assert!(Ed25519Signer::from_der(&ec.to_der_private_key()).is_err());
    }
}
