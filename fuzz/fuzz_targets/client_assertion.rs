//! A `client_assertion` (RFC 7523 §2.2): read for its subject before the client is known,
//! then checked against a JWKS (here, our own key's).
#![no_main]

mod common;

use std::sync::LazyLock;

use gatehouse::keys::{self, KeyRing};
use gatehouse::oauth::authorize::Params;
use gatehouse::oauth::client_auth::{self, JWT_BEARER_ASSERTION, Presented};
use libfuzzer_sys::fuzz_target;

static KEYS: LazyLock<KeyRing> =
    LazyLock::new(|| KeyRing::in_memory(2048).expect("an RSA key for the fuzzer"));

fuzz_target!(|data: &[u8]| {
    let Some(assertion) = common::text(data) else {
        return;
    };
    let params = Params::from_pairs(&[
        ("client_assertion_type", JWT_BEARER_ASSERTION),
        ("client_assertion", assertion),
    ]);
    match client_auth::presented(None, &params) {
        Ok(found) => assert!(matches!(found, Presented::PrivateKeyJwt { .. })),
        // RFC 7521 §4.2.1; an empty value is an absent one (RFC 6749 §3.1).
        Err(e) => {
            let expected = if assertion.is_empty() {
                "invalid_request"
            } else {
                "invalid_client"
            };
            assert_eq!(e.code(), expected);
            common::assert_spec_refusal(&e);
        }
    }
    assert!(keys::verify_with_jwks(KEYS.jwks_json(), assertion).is_err());
});
