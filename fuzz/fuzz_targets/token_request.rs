//! `/token`'s body: the client-authentication parameters, then the token request.
#![no_main]

mod common;

use gatehouse::oauth::client_auth;
use gatehouse::oauth::token_request::TokenRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let params = common::params(data);
    if let Err(e) = client_auth::presented(None, &params) {
        common::assert_spec_refusal(&e);
    }
    match TokenRequest::parse(&params) {
        // RFC 6749 §3.1: nothing accepted carries a parameter twice.
        Ok(request) => {
            assert!(params.first_duplicate().is_none());
            assert_eq!(
                params.get("grant_type"),
                Some(request.grant_type().as_str())
            );
        }
        Err(e) => common::assert_spec_refusal(&e),
    }
});
