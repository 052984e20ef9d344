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

/// A 32-byte key derived from a secret value for a named purpose.
pub fn derive_key(purpose: &str, secret: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(purpose.as_bytes());
    hasher.update([0]);
    hasher.update(secret.as_bytes());
    hasher.finalize().into()
}
