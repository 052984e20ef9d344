//! The authorization request's parsing and validation, against the demo SPA.

use proptest::prelude::*;

use super::request::*;
use crate::clients::Client;
use crate::oauth::error::allowed_in_description;

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn client() -> Client {
    crate::demo::spa_client()
}

fn params(pairs: &[(&str, &str)]) -> Params {
    Params::from_pairs(pairs)
}

fn good() -> Vec<(&'static str, &'static str)> {
    vec![
        ("client_id", "demo-spa"),
        ("response_type", "code"),
        ("redirect_uri", "http://127.0.0.1:8081/callback"),
        ("scope", "openid profile"),
        ("state", "st"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
}

fn outcome(result: Result<AuthorizationRequest, Rejection>) -> String {
    match result {
        Ok(_) => "ok".into(),
        Err(Rejection::Page(e)) => format!("page:{}", e.code()),
        Err(Rejection::Redirect(_, e)) => format!("redirect:{}", e.code()),
    }
}

#[test]
fn a_good_request_is_accepted() {
    let request = validate_for(&client(), &params(&good())).unwrap();
    assert_eq!(request.reply.state.as_deref(), Some("st"));
    assert!(request.redirect_uri_given && request.pkce.is_some());
}

#[test]
fn overlong_values_are_refused_by_redirect_without_echoing_them() {
    let long_state = "s".repeat(MAX_STATE + 1);
    let mut p = good();
    p[4].1 = &long_state;
    let Err(Rejection::Redirect(reply, error)) = validate_for(&client(), &params(&p)) else {
        panic!("refused by redirect");
    };
    assert_eq!((error.code(), reply.state), ("invalid_request", None));
    let long_nonce = "n".repeat(513);
    let mut p = good();
    p.push(("nonce", &long_nonce));
    assert_eq!(
        outcome(validate_for(&client(), &params(&p))),
        "redirect:invalid_request"
    );
    let mut p = good();
    p.push(("nonce", &long_nonce[..512]));
    assert_eq!(outcome(validate_for(&client(), &params(&p))), "ok");
}

#[test]
fn an_untrusted_redirect_goes_to_a_page_and_later_errors_to_the_client() {
    let mut p = good();
    p[2].1 = "http://127.0.0.1:8081/callback/evil";
    assert_eq!(
        outcome(validate_for(&client(), &params(&p))),
        "page:invalid_request"
    );
    let mut p = good();
    p[1].1 = "token";
    assert_eq!(
        outcome(validate_for(&client(), &params(&p))),
        "redirect:unsupported_response_type"
    );
    let mut p = good();
    p.push(("prompt", "none login"));
    assert_eq!(
        outcome(validate_for(&client(), &params(&p))),
        "redirect:invalid_request"
    );
    let mut p = good();
    p.retain(|(k, _)| *k != "code_challenge");
    assert_eq!(
        outcome(validate_for(&client(), &params(&p))),
        "redirect:invalid_request"
    );
}

fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    let known = good();
    let key = prop_oneof![
        proptest::sample::select(
            known
                .iter()
                .map(|(k, _)| (*k).to_owned())
                .collect::<Vec<_>>()
        ),
        Just("prompt".to_owned()),
        Just("max_age".to_owned()),
        Just("response_mode".to_owned()),
        "[a-z_]{1,10}",
    ];
    let value = prop_oneof![
        proptest::sample::select(
            known
                .iter()
                .map(|(_, v)| (*v).to_owned())
                .collect::<Vec<_>>()
        ),
        Just("none".to_owned()),
        Just("form_post".to_owned()),
        any::<String>(),
    ];
    proptest::collection::vec((key, value), 0..10)
}

proptest! {
    #[test]
    fn parsing_never_panics_and_always_refuses_duplicates(extra in pairs()) {
        let mut all: Vec<(String, String)> =
            good().iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        all.extend(extra);
        let mut seen = std::collections::HashSet::new();
        let duplicated = all
            .iter()
            .any(|(k, _)| k != "resource" && !seen.insert(k.clone()));
        let result = validate_for(&client(), &Params::new(all));
        if duplicated {
            prop_assert!(result.is_err());
        }
        if let Err(Rejection::Page(e) | Rejection::Redirect(_, e)) = &result {
            let sent = e.description();
            prop_assert!(sent.chars().all(allowed_in_description), "{sent:?}");
            prop_assert_ne!(e.code(), "server_error");
        }
    }
}
