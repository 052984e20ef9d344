//! The algorithms tokens are signed with: RS256 (RFC 7518 §3.3; OIDC requires it, so it is
//! the default), ES256 (ECDSA P-256, §3.4) and EdDSA with Ed25519 (RFC 8037 §3.1, `OKP`
//! keys). The two elliptic-curve algorithms sign an order of magnitude faster than RSA-2048,
//! for the relying parties that accept them. Key generation, RFC 7638 thumbprints, and the
//! josekit signers and verifiers for each live here.

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::alg::ed::EdCurve;
use josekit::jwk::{Jwk, KeyPair};
use josekit::jws::{ES256, EdDSA, JwsSigner, JwsVerifier, RS256};
use sha2::{Digest, Sha256};

use super::curve_signer::{Ed25519Signer, Es256Signer};
use super::signer::{Rs256Signer, Rs256Verifier};

/// A JWS `alg` we sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Alg {
    Rs256,
    Es256,
    EdDsa,
}

impl Alg {
    /// Every algorithm, RS256 first: the order the JWKS and discovery list them in, so a
    /// relying party that takes the first key or value gets the one OIDC requires.
    pub const ALL: [Alg; 3] = [Alg::Rs256, Alg::Es256, Alg::EdDsa];

    /// The `alg` value (RFC 7518 §3.1, RFC 8037 §3.1).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.as_str() == name)
    }

    /// A new key pair: the private key as PKCS#8 DER (to be sealed) and the public JWK with
    /// `kid` (its RFC 7638 thumbprint), `alg` and `use`. Slow for RSA: call it off the async
    /// workers.
    pub(super) fn generate(self, rsa_bits: u32) -> anyhow::Result<(Vec<u8>, Jwk)> {
        let (der, mut public) = match self {
            Self::Rs256 => {
                let pair = RS256.generate_key_pair(rsa_bits)?;
                (pair.to_der_private_key(), pair.to_jwk_public_key())
            }
            Self::Es256 => {
                let pair = ES256.generate_key_pair()?;
                (pair.to_der_private_key(), pair.to_jwk_public_key())
            }
            Self::EdDsa => {
                let pair = EdDSA.generate_key_pair(EdCurve::Ed25519)?;
                (pair.to_der_private_key(), pair.to_jwk_public_key())
            }
        };
        let kid = thumbprint(&public)?;
        public.set_key_id(&kid);
        public.set_algorithm(self.as_str());
        public.set_key_use("sig");
        Ok((der, public))
    }

    /// The signer for a private key of this algorithm (PKCS#8 or, for RSA, PKCS#1 DER).
    /// RS256 goes through our prepared-context signer (`signer.rs`), ES256 and EdDSA
    /// through ring (`curve_signer.rs`): each faster than josekit's own signer.
    pub(super) fn signer(self, private_der: &[u8]) -> anyhow::Result<Box<dyn JwsSigner>> {
        Ok(match self {
            Self::Rs256 => Box::new(Rs256Signer::from_der(private_der)?),
            Self::Es256 => Box::new(Es256Signer::from_der(private_der)?),
            Self::EdDsa => Box::new(Ed25519Signer::from_der(private_der)?),
        })
    }

    pub(super) fn verifier(self, public: &Jwk) -> anyhow::Result<Box<dyn JwsVerifier>> {
        Ok(match self {
            Self::Rs256 => Box::new(Rs256Verifier::from_jwk(public)?),
            Self::Es256 => Box::new(ES256.verifier_from_jwk(public)?),
            Self::EdDsa => Box::new(EdDSA.verifier_from_jwk(public)?),
        })
    }
}

impl std::fmt::Display for Alg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The algorithms `keys.algorithms` names, RS256 always among them (OIDC Core §15.1), in
/// [`Alg::ALL`]'s order.
pub fn enabled(names: &[String]) -> anyhow::Result<Vec<Alg>> {
    let mut algs = vec![Alg::Rs256];
    for name in names {
        let alg = Alg::parse(name).with_context(|| {
            format!("keys.algorithms: {name:?} is not one of RS256, ES256, EdDSA")
        })?;
        if !algs.contains(&alg) {
            algs.push(alg);
        }
    }
    algs.sort();
    Ok(algs)
}

/// RFC 7638 §3.2: the SHA-256 of the key's required members, in lexicographic order —
/// `e`, `kty`, `n` for RSA; `crv`, `kty`, `x`, `y` for EC; `crv`, `kty`, `x` for OKP.
pub(super) fn thumbprint(jwk: &Jwk) -> anyhow::Result<String> {
    let member = |name: &str| -> anyhow::Result<String> {
        match jwk.parameter(name).and_then(|v| v.as_str()) {
            Some(v) => Ok(v.to_owned()),
            None => bail!("the {} JWK lacks {name}", jwk.key_type()),
        }
    };
    let canonical = match jwk.key_type() {
        "RSA" => format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            member("e")?,
            member("n")?
        ),
        "EC" => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            member("crv")?,
            member("x")?,
            member("y")?
        ),
        "OKP" => format!(
            r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#,
            member("crv")?,
            member("x")?
        ),
        other => bail!("no thumbprint for a {other} key"),
    };
    Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}
