//! PKCE (RFC 7636). oxide-auth's `Pkce` does the S256/plain challenge encoding and the
//! constant-time verification; we add the policy and the format checks it leaves out.

use std::borrow::Cow;

use oxide_auth::code_grant::extensions::Pkce;
use oxide_auth::primitives::grant::Value;

use super::Error;

/// RFC 7636 §4.1/§4.2: 43–128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`.
fn well_formed(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// A code verifier as sent to the token endpoint, well formed (RFC 7636 §4.1). Malformed ones
/// are `invalid_grant`, like any other verifier that cannot match (§4.6).
#[derive(Clone, PartialEq, Eq)]
pub struct CodeVerifier(String);

impl CodeVerifier {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        if well_formed(raw) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Error::invalid_grant("code_verifier is malformed"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Never printed: the verifier is what proves possession of the code.
impl std::fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeVerifier(…)")
    }
}

/// The length of base64url (unpadded) of a SHA-256 digest.
const S256_CHALLENGE_LEN: usize = 43;

/// Validates the challenge at the authorization endpoint; returns what to keep with the code.
pub fn challenge(
    required: bool,
    allow_plain: bool,
    method: Option<&str>,
    challenge: Option<&str>,
) -> Result<Option<String>, Error> {
    let Some(challenge) = challenge else {
        if required {
            return Err(Error::invalid_request(
                "code_challenge is required (PKCE, RFC 7636)",
            ));
        }
        if method.is_some() {
            return Err(Error::invalid_request(
                "code_challenge_method without code_challenge",
            ));
        }
        return Ok(None);
    };
    // §4.3: an absent method means "plain".
    let method = method.unwrap_or("plain");
    if method == "plain" && !allow_plain {
        return Err(Error::invalid_request(
            "code_challenge_method plain is not allowed; use S256",
        ));
    }
    if method != "S256" && method != "plain" {
        return Err(Error::invalid_request("unsupported code_challenge_method"));
    }
    if !well_formed(challenge) {
        return Err(Error::invalid_request("code_challenge is malformed"));
    }
    // §4.2: an S256 challenge is BASE64URL(SHA-256(verifier)), 43 characters; any other
    // length could never match a verifier, so it is refused here rather than at /token.
    if method == "S256" && challenge.len() != S256_CHALLENGE_LEN {
        return Err(Error::invalid_request(
            "an S256 code_challenge is 43 characters (RFC 7636 section 4.2)",
        ));
    }
    let mut pkce = Pkce::required();
    if allow_plain {
        pkce.allow_plain();
    }
    let encoded = pkce
        .challenge(Some(Cow::Borrowed(method)), Some(Cow::Borrowed(challenge)))
        .map_err(|()| Error::invalid_request("invalid PKCE challenge"))?;
    Ok(encoded.and_then(|v| v.into_private_value().ok().flatten()))
}

/// Checks the verifier at the token endpoint (RFC 7636 §4.6): any mismatch is `invalid_grant`.
pub fn verify(stored: Option<&str>, verifier: Option<&CodeVerifier>) -> Result<(), Error> {
    match (stored, verifier) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(Error::invalid_grant(
            "code_verifier sent but no code_challenge was",
        )),
        (Some(_), None) => Err(Error::invalid_grant("code_verifier is required")),
        (Some(stored), Some(verifier)) => Pkce::required()
            .verify(
                Some(Value::private(Some(stored.to_owned()))),
                Some(Cow::Borrowed(verifier.as_str())),
            )
            .map_err(|()| Error::invalid_grant("code_verifier does not match the code_challenge")),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn s256_round_trip_matches_rfc_7636_appendix_b() {
        let stored = challenge(true, false, Some("S256"), Some(CHALLENGE)).unwrap();
        let verifier = CodeVerifier::parse(VERIFIER).unwrap();
        assert!(verify(stored.as_deref(), Some(&verifier)).is_ok());
        let wrong = CodeVerifier::parse(&VERIFIER.replace('d', "e")).unwrap();
        assert!(verify(stored.as_deref(), Some(&wrong)).is_err());
        assert!(verify(stored.as_deref(), None).is_err());
    }

    #[test]
    fn plain_needs_permission_and_missing_method_means_plain() {
        assert!(challenge(true, false, Some("plain"), Some(CHALLENGE)).is_err());
        let one_too_long = format!("{CHALLENGE}A");
        let refused = challenge(true, false, Some("S256"), Some(&one_too_long)).unwrap_err();
        assert_eq!(
            refused.code(),
            "invalid_request",
            "no verifier could match it"
        );
        assert!(challenge(true, false, None, Some(CHALLENGE)).is_err());
        let stored = challenge(true, true, None, Some(VERIFIER)).unwrap();
        let verifier = CodeVerifier::parse(VERIFIER).unwrap();
        assert!(verify(stored.as_deref(), Some(&verifier)).is_ok());
    }

    #[test]
    fn required_pkce_rejects_absence() {
        assert!(challenge(true, false, None, None).is_err());
        assert_eq!(challenge(false, false, None, None).unwrap(), None);
    }

    /// The §4.1 alphabet, and the lengths around its bounds.
    const ALPHABET: &str = "[A-Za-z0-9._~-]";

    fn verifier() -> impl Strategy<Value = String> {
        proptest::string::string_regex(&format!("{ALPHABET}{{43,128}}")).unwrap()
    }

    /// RFC 7636 §4.2: `BASE64URL(SHA256(ASCII(code_verifier)))`, computed here independently.
    fn s256(verifier: &str) -> String {
        use base64::Engine;
        use sha2::Digest;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn a_verifier_verifies_against_its_own_s256_challenge(v in verifier()) {
            let stored = challenge(true, false, Some("S256"), Some(&s256(&v))).unwrap();
            let parsed = CodeVerifier::parse(&v).unwrap();
            prop_assert!(verify(stored.as_deref(), Some(&parsed)).is_ok());
        }

        #[test]
        fn no_other_verifier_does(v in verifier(), other in verifier()) {
            prop_assume!(v != other);
            let stored = challenge(true, false, Some("S256"), Some(&s256(&v))).unwrap();
            let other = CodeVerifier::parse(&other).unwrap();
            let refused = verify(stored.as_deref(), Some(&other)).unwrap_err();
            prop_assert_eq!(refused.code(), "invalid_grant");
            // Nor does the challenge itself, sent as a verifier.
            let challenge = CodeVerifier::parse(&s256(&v)).unwrap();
            prop_assert!(verify(stored.as_deref(), Some(&challenge)).is_err());
        }

        #[test]
        fn a_plain_verifier_verifies_only_against_itself(
            v in verifier(),
            other in verifier(),
            same in any::<bool>(),
        ) {
            let other = if same { v.clone() } else { other };
            let stored = challenge(true, true, Some("plain"), Some(&v)).unwrap();
            let parsed = CodeVerifier::parse(&other).unwrap();
            prop_assert_eq!(verify(stored.as_deref(), Some(&parsed)).is_ok(), v == other);
        }

        #[test]
        fn verifiers_of_the_wrong_length_are_refused(
            short in proptest::string::string_regex(&format!("{ALPHABET}{{0,42}}")).unwrap(),
            long in proptest::string::string_regex(&format!("{ALPHABET}{{129,300}}")).unwrap(),
        ) {
            for bad in [short, long] {
                prop_assert_eq!(CodeVerifier::parse(&bad).unwrap_err().code(), "invalid_grant");
            }
        }

        #[test]
        fn a_character_outside_the_alphabet_is_refused(
            v in verifier(),
            at in any::<proptest::sample::Index>(),
            bad in any::<char>().prop_filter("outside §4.1", |c| {
                !c.is_ascii_alphanumeric() && !"-._~".contains(*c)
            }),
        ) {
            let mut chars: Vec<char> = v.chars().collect();
            let at = at.index(chars.len());
            chars[at] = bad;
            let tampered: String = chars.into_iter().collect();
            prop_assert_eq!(CodeVerifier::parse(&tampered).unwrap_err().code(), "invalid_grant");
        }

        #[test]
        fn arbitrary_strings_never_panic_and_parse_only_when_well_formed(
            raw in any::<String>(),
            method in proptest::option::of(prop_oneof![
                Just("S256".to_owned()), Just("plain".to_owned()), any::<String>(),
            ]),
            required in any::<bool>(),
            allow_plain in any::<bool>(),
        ) {
            prop_assert_eq!(CodeVerifier::parse(&raw).is_ok(), well_formed(&raw));
            let stored = challenge(required, allow_plain, method.as_deref(), Some(&raw));
            match stored {
                Ok(stored) => {
                    prop_assert!(stored.is_some() && well_formed(&raw));
                    let s256 = method.as_deref() == Some("S256");
                    prop_assert!(!s256 || raw.len() == S256_CHALLENGE_LEN);
                }
                Err(e) => prop_assert_eq!(e.code(), "invalid_request"),
            }
            if let Ok(verifier) = CodeVerifier::parse(&raw) {
                let stored = challenge(true, false, Some("S256"), Some(&s256(VERIFIER))).unwrap();
                prop_assert_eq!(verify(stored.as_deref(), Some(&verifier)).is_ok(), raw == VERIFIER);
            }
        }
    }
}
