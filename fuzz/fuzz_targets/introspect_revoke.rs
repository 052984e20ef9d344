//! `/introspect` and `/revoke`: what their handlers read before the store is asked, and the
//! access-token check a presented token goes through first.
#![no_main]

mod common;

use std::sync::LazyLock;

use gatehouse::http::revocation;
use gatehouse::keys::KeyRing;
use gatehouse::oauth::client_auth;
use libfuzzer_sys::fuzz_target;

static KEYS: LazyLock<KeyRing> =
    LazyLock::new(|| KeyRing::in_memory(2048).expect("an RSA key for the fuzzer"));

fuzz_target!(|data: &[u8]| {
    let params = common::params(data);
    // The extractor refuses repeats before anything else (RFC 6749 §3.2).
    if params.first_duplicate().is_some() {
        return;
    }
    if let Err(e) = client_auth::presented(None, &params) {
        common::assert_spec_refusal(&e);
    }
    let _hint = params.get("token_type_hint");
    match revocation::token(&params) {
        // Nobody but us holds the key: nothing the fuzzer makes can verify.
        Ok(token) => assert!(KEYS.verify(token).is_err()),
        Err(e) => common::assert_spec_refusal(&e),
    }
});
