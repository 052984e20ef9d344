//! `/authorize`'s query (or form), validated for a public and a confidential demo client.
#![no_main]

mod common;

use std::sync::LazyLock;

use gatehouse::clients::Client;
use gatehouse::demo;
use gatehouse::oauth::authorize::Rejection;
use gatehouse::oauth::authorize::request::validate_for;
use libfuzzer_sys::fuzz_target;

static CLIENTS: LazyLock<[Client; 2]> = LazyLock::new(|| [demo::spa_client(), demo::web_client()]);

fuzz_target!(|data: &[u8]| {
    let params = common::params(data);
    for client in CLIENTS.iter() {
        match validate_for(client, &params) {
            Ok(request) => {
                assert!(params.first_duplicate().is_none());
                assert!(client.redirect_uris.contains(&request.reply.redirect_uri));
            }
            Err(Rejection::Page(e)) => common::assert_spec_refusal(&e),
            // §4.1.2.1: only to a redirect URI registered for the client.
            Err(Rejection::Redirect(reply, e)) => {
                assert!(client.redirect_uris.contains(&reply.redirect_uri));
                common::assert_spec_refusal(&e);
            }
        }
    }
});
