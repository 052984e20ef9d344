//! Recovery codes: ten one-time codes such as `k3f9q-8x2mz`, for the day the authenticator
//! is lost. Ten characters from an alphabet without look-alikes (no `0 o 1 l i`): 31^10,
//! about 2^49.5 each — far beyond online guessing under the sign-in limits.

use rand::Rng;

pub const COUNT: usize = 10;
const LENGTH: usize = 10;
const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";

/// A fresh set, formatted for showing (`xxxxx-xxxxx`).
pub fn generate() -> Vec<String> {
    let mut rng = rand::thread_rng();
    (0..COUNT)
        .map(|_| {
            let chars: String = (0..LENGTH)
                .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
                .collect();
            format!("{}-{}", &chars[..LENGTH / 2], &chars[LENGTH / 2..])
        })
        .collect()
}

/// A code as typed, reduced to what is compared: lower case, without spaces or hyphens;
/// `None` when it cannot be a recovery code (so a six-digit TOTP code is not looked up).
pub fn normalise(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let valid = code.len() == LENGTH && code.bytes().all(|b| ALPHABET.contains(&b));
    valid.then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_is_ten_distinct_codes_in_the_shown_format() {
        let codes = generate();
        assert_eq!(codes.len(), COUNT);
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), COUNT);
        for code in &codes {
            assert_eq!(code.len(), 11);
            assert_eq!(&code[5..6], "-");
            assert_eq!(
                normalise(code).as_deref(),
                Some(code.replace('-', "").as_str())
            );
        }
    }

    #[test]
    fn typing_is_forgiving_and_other_codes_are_not_codes() {
        assert_eq!(normalise(" K3F9Q 8X2MZ ").as_deref(), Some("k3f9q8x2mz"));
        assert_eq!(normalise("k3f9q-8x2mz").as_deref(), Some("k3f9q8x2mz"));
        for typed in [
            "287082",
            "k3f9q-8x2m",
            "k3f9q-8x2mzz",
            "k3f9q-8x2m0",
            "k3f9q-8x2mí",
        ] {
            assert_eq!(normalise(typed), None, "{typed:?}");
        }
    }
}
