//! RFC 6238 TOTP with the parameters every authenticator app expects: HMAC-SHA-1, 6 digits,
//! 30-second steps, a 160-bit secret shown as unpadded upper-case base32 (RFC 4648 §6). A code
//! matches its time step or one step either side (clock skew, RFC 6238 §5.2); the step it
//! matched is returned, so that a code already used can be refused (see [`super::replay`]).

use rand::RngCore;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret, TOTP};

pub const DIGITS: usize = 6;
pub const STEP_SECS: u64 = 30;
/// 160 bits, the length RFC 4226 §4 recommends and authenticator apps assume.
pub const SECRET_BYTES: usize = 20;
/// Steps accepted on either side of the current one.
const SKEW_STEPS: u64 = 1;

/// A TOTP secret. Its `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(..)")
    }
}

impl TotpSecret {
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; SECRET_BYTES];
        rand::thread_rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// A stored secret (decrypted); `None` unless it is 160 bits.
    pub fn from_bytes(bytes: Vec<u8>) -> Option<Self> {
        (bytes.len() == SECRET_BYTES).then_some(Self(bytes))
    }

    /// A secret as [`base32`](Self::base32) or [`grouped`](Self::grouped) show it (what a
    /// person types into an app); `None` unless it decodes to 160 bits.
    pub fn from_base32(text: &str) -> Option<Self> {
        let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        Self::from_bytes(Secret::Encoded(text.to_ascii_uppercase()).to_bytes().ok()?)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Unpadded upper-case base32, as authenticator apps take it typed in.
    pub fn base32(&self) -> String {
        match Secret::Raw(self.0.clone()).to_encoded() {
            Secret::Encoded(text) => text,
            Secret::Raw(_) => String::new(),
        }
    }

    /// The base32 text in groups of four, easier to copy by hand.
    pub fn grouped(&self) -> String {
        let text = self.base32();
        let groups: Vec<&str> = text
            .as_bytes()
            .chunks(4)
            .filter_map(|chunk| std::str::from_utf8(chunk).ok())
            .collect();
        groups.join(" ")
    }

    /// The `otpauth://` URI of the QR code (the Key Uri Format of Google Authenticator, which
    /// every app reads): the issuer names the service, the account the person.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
        let issuer = utf8_percent_encode(issuer, NON_ALPHANUMERIC).to_string();
        let account = utf8_percent_encode(account, NON_ALPHANUMERIC).to_string();
        format!(
            "otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
            self.base32()
        )
    }

    fn totp(&self) -> TOTP {
        TOTP::new_unchecked(Algorithm::SHA1, DIGITS, 0, STEP_SECS, self.0.clone())
    }

    /// The code of the step that contains `unix_secs`.
    pub fn code_at(&self, unix_secs: u64) -> String {
        self.totp().generate(unix_secs)
    }

    /// The time step whose code `typed` is, if it is the current step's or a neighbour's.
    /// Spaces are ignored; anything but six digits matches nothing. Each candidate is
    /// compared in constant time.
    pub fn matching_step(&self, typed: &str, unix_secs: i64) -> Option<u64> {
        let code: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let now_step = u64::try_from(unix_secs).ok()? / STEP_SECS;
        let totp = self.totp();
        let first = now_step.saturating_sub(SKEW_STEPS);
        (first..=now_step + SKEW_STEPS).find(|step| {
            let expected = totp.generate(step * STEP_SECS);
            bool::from(expected.as_bytes().ct_eq(code.as_bytes()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B's SHA-1 seed: "12345678901234567890".
    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890".to_vec()).unwrap()
    }

    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        // Appendix B lists 8 digits; the last 6 are the 6-digit codes.
        for (time, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
        ] {
            assert_eq!(rfc_secret().code_at(time), eight[2..], "at {time}");
        }
    }

    #[test]
    fn one_step_of_skew_either_side_and_no_more() {
        let secret = TotpSecret::generate();
        let now = 1_700_000_000_i64;
        let step = now as u64 / STEP_SECS;
        for (offset, expected) in [
            (-60, None),
            (-30, Some(step - 1)),
            (0, Some(step)),
            (30, Some(step + 1)),
            (60, None),
        ] {
            let code = secret.code_at((now + offset) as u64);
            let found = secret.matching_step(&code, now);
            // A code of another step may collide with a neighbour's by chance (1 in 10^6).
            if expected.is_none() && found.is_some() {
                continue;
            }
            assert_eq!(found, expected, "offset {offset}");
        }
    }

    #[test]
    fn anything_but_six_digits_matches_nothing() {
        let secret = rfc_secret();
        let code = secret.code_at(59);
        assert_eq!(
            secret.matching_step(&format!(" {} {} ", &code[..3], &code[3..]), 59),
            Some(1)
        );
        for typed in [
            "",
            "12345",
            "1234567",
            "abcdef",
            "２８７０８２",
            "287082\u{0}",
        ] {
            assert_eq!(secret.matching_step(typed, 59), None, "{typed:?}");
        }
    }

    #[test]
    fn the_secret_reads_as_base32_in_groups_and_in_the_uri() {
        let secret = rfc_secret();
        assert_eq!(secret.base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(secret.grouped(), "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ");
        let uri = secret.otpauth_uri("Gatehouse", "uma@example.com");
        assert!(uri.starts_with("otpauth://totp/Gatehouse:uma%40example%2Ecom?secret=GEZD"));
        assert!(uri.ends_with("&algorithm=SHA1&digits=6&period=30"));
        assert_eq!(format!("{secret:?}"), "TotpSecret(..)");
        assert_eq!(TotpSecret::generate().base32().len(), 32);
        assert!(TotpSecret::from_bytes(vec![0; 10]).is_none());
    }

    #[test]
    fn the_secret_shown_reads_back() {
        let secret = TotpSecret::generate();
        assert_eq!(
            TotpSecret::from_base32(&secret.grouped()),
            Some(secret.clone())
        );
        assert_eq!(
            TotpSecret::from_base32(&secret.base32().to_lowercase()),
            Some(secret)
        );
        assert_eq!(TotpSecret::from_base32("GEZDGNBV"), None);
        assert_eq!(TotpSecret::from_base32("not base32!"), None);
    }
}
