//! The JWK Sets clients register for `private_key_jwt` (RFC 7523): checked at registration,
//! and used to verify the client's assertions.

use anyhow::Context;
use josekit::jwk::JwkSet;
use josekit::jws::{self, JwsVerifier, RS256};

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
