//! Unguessable values (codes, tokens, ids) and their storage digests.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// 256 random bits, base64url without padding.
///
/// From the thread's CSPRNG (ChaCha12, seeded and periodically reseeded from the OS) rather
/// than the OS directly: the token path draws several values per request, and each
/// `getrandom` system call was a measurable share of a client_credentials grant.
pub fn token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The key a secret value is stored under: its SHA-256, so a store dump reveals no usable value.
pub fn digest(value: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(value.as_bytes()))
}

/// A 32-byte key derived from a secret value for a named purpose: HKDF-SHA-256 (RFC 5869)
/// with the purpose as `info`, so keys for different purposes are independent.
pub fn derive_key(purpose: &str, secret: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    // 32 bytes is far below HKDF-SHA-256's limit of 255 × 32, so expand cannot fail.
    let _ = hkdf::Hkdf::<Sha256>::new(None, secret.as_bytes()).expand(purpose.as_bytes(), &mut key);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_keys_differ_by_purpose_and_secret_and_repeat() {
        let key = derive_key("refresh-retry", "token");
        assert_eq!(key, derive_key("refresh-retry", "token"));
        assert_ne!(key, derive_key("other", "token"));
        assert_ne!(key, derive_key("refresh-retry", "token2"));
    }

    #[test]
    fn tokens_carry_256_bits() {
        assert_eq!(URL_SAFE_NO_PAD.decode(token()).unwrap().len(), 32);
    }
}
