//! RS256 signing and verification on prepared OpenSSL contexts, for josekit to build and
//! check JWS with.
//!
//! josekit's own `RsassaJwsSigner` starts every signature from scratch: `EVP_DigestSignInit`
//! fetches the digest and signature implementations and builds a new `EVP_PKEY_CTX`. On the
//! token path that set-up was measurable beside the RSA operation itself. This signer keeps
//! one context per thread, initialised once for PKCS#1 v1.5 with SHA-256, and signs the
//! message's digest with it, the way `openssl speed` does. josekit still assembles and
//! serialises the JWS: it takes any `JwsSigner`. Signatures are byte-for-byte the same as
//! josekit's (PKCS#1 v1.5 is deterministic), which a test below checks.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use josekit::JoseError;
use josekit::jws::{JwsAlgorithm, JwsSigner, JwsVerifier, RS256};
use openssl::bn::BigNum;
use openssl::md::Md;
use openssl::pkey::{PKey, Private, Public};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;

/// Tells one signer's contexts from another's (a key ring is rebuilt when keys rotate).
static NEXT_SIGNER_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// This thread's prepared context and the signer it belongs to. An `EVP_PKEY_CTX` may
    /// only be used by one thread at a time; keeping it thread-local needs no lock.
    static PREPARED: RefCell<Option<(u64, PkeyCtx<Private>)>> = const { RefCell::new(None) };
    /// The same for verification: the last verifier this thread used.
    static VERIFYING: RefCell<Option<(u64, PkeyCtx<Public>)>> = const { RefCell::new(None) };
}

pub struct Rs256Signer {
    id: u64,
    key: PKey<Private>,
}

impl Rs256Signer {
    /// A signer for an RSA private key in PKCS#1 or PKCS#8 DER.
    pub fn from_der(private_der: &[u8]) -> anyhow::Result<Self> {
        let key = PKey::private_key_from_der(private_der)?;
        anyhow::ensure!(key.rsa().is_ok(), "the signing key is not an RSA key");
        Ok(Self::from_key(key))
    }

    fn from_key(key: PKey<Private>) -> Self {
        Self {
            id: NEXT_SIGNER_ID.fetch_add(1, Ordering::Relaxed),
            key,
        }
    }

    fn prepare(&self) -> Result<PkeyCtx<Private>, openssl::error::ErrorStack> {
        let mut ctx = PkeyCtx::new(&self.key)?;
        ctx.sign_init()?;
        ctx.set_rsa_padding(Padding::PKCS1)?;
        ctx.set_signature_md(Md::sha256())?;
        Ok(ctx)
    }

    fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, openssl::error::ErrorStack> {
        PREPARED.with(|cell| {
            let taken = cell.borrow_mut().take();
            let mut ctx = match taken {
                Some((owner, ctx)) if owner == self.id => ctx,
                _ => self.prepare()?,
            };
            let mut signature = Vec::with_capacity(self.key.size());
            ctx.sign_to_vec(digest, &mut signature)?;
            *cell.borrow_mut() = Some((self.id, ctx));
            Ok(signature)
        })
    }
}

impl std::fmt::Debug for Rs256Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rs256Signer").finish_non_exhaustive()
    }
}

impl JwsSigner for Rs256Signer {
    fn algorithm(&self) -> &dyn JwsAlgorithm {
        &RS256
    }

    fn key_id(&self) -> Option<&str> {
        None
    }

    fn signature_len(&self) -> usize {
        self.key.size()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, JoseError> {
        let digest = openssl::sha::sha256(message);
        self.sign_digest(&digest)
            .map_err(|e| JoseError::InvalidSignature(e.into()))
    }

    fn box_clone(&self) -> Box<dyn JwsSigner> {
        Box::new(Self::from_key(self.key.clone()))
    }
}

/// Verifies RS256 signatures (RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518 §3.3) by one of
/// our published RSA keys.
pub struct Rs256Verifier {
    id: u64,
    key: PKey<Public>,
}

impl Rs256Verifier {
    /// From the public JWK (`n`, `e`; RFC 7518 §6.3.1) as we publish it.
    pub fn from_jwk(jwk: &josekit::jwk::Jwk) -> anyhow::Result<Self> {
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        anyhow::ensure!(jwk.key_type() == "RSA", "not an RSA JWK");
        let member = |name: &str| -> anyhow::Result<BigNum> {
            let text = jwk.parameter(name).and_then(|v| v.as_str());
            let text = text.ok_or_else(|| anyhow::anyhow!("the RSA JWK lacks {name}"))?;
            Ok(BigNum::from_slice(&URL_SAFE_NO_PAD.decode(text)?)?)
        };
        let rsa = openssl::rsa::Rsa::from_public_components(member("n")?, member("e")?)?;
        anyhow::ensure!(rsa.size() >= 256, "RSA keys have at least 2048 bits");
        Ok(Self {
            id: NEXT_SIGNER_ID.fetch_add(1, Ordering::Relaxed),
            key: PKey::from_rsa(rsa)?,
        })
    }

    fn prepare(&self) -> Result<PkeyCtx<Public>, openssl::error::ErrorStack> {
        let mut ctx = PkeyCtx::new(&self.key)?;
        ctx.verify_init()?;
        ctx.set_rsa_padding(Padding::PKCS1)?;
        ctx.set_signature_md(Md::sha256())?;
        Ok(ctx)
    }

    fn verify_digest(
        &self,
        digest: &[u8],
        signature: &[u8],
    ) -> Result<bool, openssl::error::ErrorStack> {
        VERIFYING.with(|cell| {
            let taken = cell.borrow_mut().take();
            let mut ctx = match taken {
                Some((owner, ctx)) if owner == self.id => ctx,
                _ => self.prepare()?,
            };
            // A malformed signature is an error on the stack, not `false`: both refuse.
            let verified = ctx.verify(digest, signature).unwrap_or(false);
            *cell.borrow_mut() = Some((self.id, ctx));
            Ok(verified)
        })
    }
}

impl std::fmt::Debug for Rs256Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rs256Verifier").finish_non_exhaustive()
    }
}

impl JwsVerifier for Rs256Verifier {
    fn algorithm(&self) -> &dyn JwsAlgorithm {
        &RS256
    }

    fn key_id(&self) -> Option<&str> {
        None
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), JoseError> {
        let digest = openssl::sha::sha256(message);
        match self.verify_digest(&digest, signature) {
            Ok(true) => Ok(()),
            Ok(false) => Err(JoseError::InvalidSignature(anyhow::anyhow!(
                "the signature does not match"
            ))),
            Err(e) => Err(JoseError::InvalidSignature(e.into())),
        }
    }

    fn box_clone(&self) -> Box<dyn JwsVerifier> {
        Box::new(Self {
            id: NEXT_SIGNER_ID.fetch_add(1, Ordering::Relaxed),
            key: self.key.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use josekit::jwk::KeyPair;

    use super::*;

    #[test]
    fn signs_exactly_as_josekit_and_verifies() {
        let pair = RS256.generate_key_pair(2048).unwrap();
        let der = pair.to_der_private_key();
        let ours = Rs256Signer::from_der(&der).unwrap();
        let theirs = RS256.signer_from_der(&der).unwrap();
        let verifier = RS256.verifier_from_jwk(&pair.to_jwk_public_key()).unwrap();
        for message in [&b"header.payload"[..], b"", &[7u8; 5000]] {
            let signature = ours.sign(message).unwrap();
            assert_eq!(signature, theirs.sign(message).unwrap());
            verifier.verify(message, &signature).unwrap();
        }
    }

    #[test]
    fn verifies_what_josekit_signs_and_refuses_the_rest() {
        let pair = RS256.generate_key_pair(2048).unwrap();
        let other = RS256.generate_key_pair(2048).unwrap();
        let signer = RS256.signer_from_der(pair.to_der_private_key()).unwrap();
        let ours = Rs256Verifier::from_jwk(&pair.to_jwk_public_key()).unwrap();
        let theirs = Rs256Verifier::from_jwk(&other.to_jwk_public_key()).unwrap();
        for message in [&b"header.payload"[..], b"", &[7u8; 5000]] {
            let signature = signer.sign(message).unwrap();
            ours.verify(message, &signature).unwrap();
            assert!(theirs.verify(message, &signature).is_err());
            assert!(ours.verify(b"changed", &signature).is_err());
            assert!(ours.verify(message, &signature[1..]).is_err());
            assert!(ours.verify(message, b"").is_err());
        }
    }

    #[test]
    fn a_second_signer_on_the_same_thread_uses_its_own_key() {
        let first = RS256.generate_key_pair(2048).unwrap();
        let second = RS256.generate_key_pair(2048).unwrap();
        let a = Rs256Signer::from_der(&first.to_der_private_key()).unwrap();
        let b = Rs256Signer::from_der(&second.to_der_private_key()).unwrap();
        let verify_b = RS256
            .verifier_from_jwk(&second.to_jwk_public_key())
            .unwrap();
        a.sign(b"warm").unwrap();
        let signature = b.sign(b"message").unwrap();
        verify_b.verify(b"message", &signature).unwrap();
    }
}
