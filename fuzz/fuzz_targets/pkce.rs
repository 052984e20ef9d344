//! PKCE (RFC 7636): the first byte picks the policy and the method, the rest is the
//! challenge or verifier.
#![no_main]

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse::oauth::pkce::{self, CodeVerifier};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

/// RFC 7636 Appendix B's challenge, for a verifier the fuzzer is unlikely to guess.
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let Some(raw) = common::text(rest) else {
        return;
    };
    let method = [None, Some("S256"), Some("plain"), Some(raw)][usize::from(flags & 3)];
    let (required, allow_plain) = (flags & 4 != 0, flags & 8 != 0);
    if let Err(e) = pkce::challenge(required, allow_plain, method, Some(raw)) {
        common::assert_spec_refusal(&e);
    }
    let verifier = match CodeVerifier::parse(raw) {
        Ok(verifier) => verifier,
        Err(e) => {
            assert_eq!(e.code(), "invalid_grant");
            return;
        }
    };
    // A verifier matches its own S256 challenge, and the Appendix B one only if it is B's.
    let own = URL_SAFE_NO_PAD.encode(Sha256::digest(raw));
    let stored = pkce::challenge(true, false, Some("S256"), Some(&own)).expect("S256");
    assert!(pkce::verify(stored.as_deref(), Some(&verifier)).is_ok());
    let other = pkce::challenge(true, false, Some("S256"), Some(CHALLENGE)).expect("S256");
    let matched = pkce::verify(other.as_deref(), Some(&verifier));
    assert_eq!(matched.is_ok(), raw == VERIFIER);
});
