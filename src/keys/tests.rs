//! Thumbprints, and what verification accepts: only what one of our keys signed.

use super::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::Jwk;

use super::alg::thumbprint;

#[test]
fn thumbprint_matches_rfc_7638_example() {
    // RFC 7638 §3.1.
    let jwk = Jwk::from_bytes(br#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#).unwrap();
    assert_eq!(
        thumbprint(&jwk).unwrap(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
}

#[test]
fn okp_thumbprint_matches_rfc_8037_example() {
    // RFC 8037 Appendix A.3.
    let jwk = Jwk::from_bytes(
        br#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
    )
    .unwrap();
    assert_eq!(
        thumbprint(&jwk).unwrap(),
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
}

#[test]
fn every_algorithm_signs_what_only_its_own_key_verifies() {
    let ring = KeyRing::in_memory(2048).unwrap();
    let jwks: serde_json::Value = serde_json::from_str(&ring.jwks_json()).unwrap();
    let listed: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["alg"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["RS256", "ES256", "EdDSA"], "RS256 first");
    for alg in Alg::ALL {
        let token = ring.sign_with(alg, "JWT", b"{}").unwrap();
        let header: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], alg.as_str());
        assert_eq!(header["kid"].as_str(), ring.signing_kid_of(alg).as_deref());
        assert_eq!(ring.verify(&token).unwrap().0, b"{}");
        // The same signature under another algorithm's name (and kid) is refused.
        let other = Alg::ALL.into_iter().find(|a| *a != alg).unwrap();
        let forged_header = format!(
            r#"{{"alg":"{}","kid":"{}","typ":"JWT"}}"#,
            other.as_str(),
            header["kid"].as_str().unwrap()
        );
        let rest = token.split_once('.').unwrap().1;
        let forged = format!("{}.{rest}", URL_SAFE_NO_PAD.encode(forged_header));
        assert!(ring.verify(&forged).is_err(), "{alg} as {other}");
    }
}

#[test]
fn rs256_is_always_enabled_and_unknown_names_are_refused() {
    assert_eq!(enabled(&[]).unwrap(), [Alg::Rs256]);
    let both = enabled(&["EdDSA".into(), "RS256".into()]).unwrap();
    assert_eq!(both, [Alg::Rs256, Alg::EdDsa]);
    let error = enabled(&["HS256".into()]).unwrap_err().to_string();
    assert!(error.contains("keys.algorithms"), "{error}");
}

mod properties {
    use std::sync::LazyLock;

    use proptest::prelude::*;

    use super::*;

    /// One key for every case: generating it is the slow part.
    static RING: LazyLock<KeyRing> = LazyLock::new(|| KeyRing::in_memory(2048).unwrap());

    fn b64(bytes: impl AsRef<[u8]>) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Headers a forger would try (ours, `none`, HMAC with our `kid`), and noise.
    fn header() -> impl Strategy<Value = String> {
        let kid = RING.signing_kid().to_owned();
        prop_oneof![
            Just(b64(format!(
                r#"{{"alg":"RS256","kid":"{kid}","typ":"at+jwt"}}"#
            ))),
            Just(b64(format!(r#"{{"alg":"HS256","kid":"{kid}"}}"#))),
            Just(b64(r#"{"alg":"none"}"#)),
            Just(b64(r#"{"alg":"ES256"}"#)),
            proptest::collection::vec(any::<u8>(), 0..48).prop_map(b64),
            any::<String>(),
        ]
    }

    fn segment() -> impl Strategy<Value = String> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..300).prop_map(b64),
            "[A-Za-z0-9_-]{0,64}",
            any::<String>(),
        ]
    }

    /// Any text, or a header and more dot-separated segments.
    fn token() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            (header(), proptest::collection::vec(segment(), 0..4)).prop_map(|(h, rest)| {
                std::iter::once(h).chain(rest).collect::<Vec<_>>().join(".")
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn forged_or_garbled_tokens_never_verify(token in token()) {
            prop_assert!(RING.verify(&token).is_err());
            prop_assert!(verify_with_jwks(&RING.jwks_json(), &token).is_err());
        }

        #[test]
        fn signed_payloads_round_trip_and_any_change_breaks_them(
            payload in proptest::collection::vec(any::<u8>(), 0..128),
            typ in "[a-z+]{1,8}",
            at in any::<proptest::sample::Index>(),
            to in "[A-Za-z0-9_-]",
        ) {
            let token = RING.sign(&typ, &payload).unwrap();
            let (read, read_typ) = RING.verify(&token).unwrap();
            prop_assert_eq!((&read, read_typ.as_deref()), (&payload, Some(typ.as_str())));
            prop_assert_eq!(verify_with_jwks(&RING.jwks_json(), &token).unwrap(), payload);
            let at = at.index(token.len());
            prop_assume!(&token[at..=at] != "." && token[at..=at] != to);
            let tampered = format!("{}{to}{}", &token[..at], &token[at + 1..]);
            prop_assert!(RING.verify(&tampered).is_err());
            prop_assert!(verify_with_jwks(&RING.jwks_json(), &tampered).is_err());
        }
    }
}

/// The operator's view of the JWKS names each key and whether it signs, and carries no
/// member of a private key (RFC 7518 §6.3.2).
#[test]
fn published_keys_describe_the_signer_without_private_members() {
    let ring = KeyRing::in_memory(2048).unwrap();
    let published = ring.published();
    let kinds: Vec<(&str, &str)> = published
        .iter()
        .map(|k| (k.kty.as_str(), k.alg.as_str()))
        .collect();
    assert_eq!(kinds, [("RSA", "RS256"), ("EC", "ES256"), ("OKP", "EdDSA")]);
    assert!(published.iter().all(|k| k.state == KeyState::Active));
    let key = &published[0];
    assert_eq!(key.kid, ring.signing_kid());
    assert_eq!((key.kty.as_str(), key.alg.as_str()), ("RSA", "RS256"));
    assert_eq!(key.key_use, "sig");
    assert_eq!(key.state, KeyState::Active);
    let shown = serde_json::to_value(key).unwrap();
    assert_eq!(shown["state"], "active");
    assert_eq!(shown["use"], "sig");
    for key in published {
        let shown = serde_json::to_value(key).unwrap();
        for private in ["d", "p", "q", "dp", "dq", "qi", "n", "x", "private_key_jwe"] {
            assert!(shown.get(private).is_none(), "{private} is shown");
        }
    }
}
