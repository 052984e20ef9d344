//! Authentication context classes: what `acr_values` may ask for and what the ID token's
//! `acr` says was done (OIDC Core §2, §3.1.2.1). Gatehouse has two levels: the password
//! alone, and the password with a second factor. The methods behind them are the session's
//! `amr` (RFC 8176).

/// The password alone.
pub const PASSWORD: &str = "urn:gatehouse:acr:pwd";
/// The password and a second factor.
pub const MFA: &str = "urn:gatehouse:acr:mfa";

/// Every level, lowest first, as discovery lists them (`acr_values_supported`).
pub const SUPPORTED: [&str; 2] = [PASSWORD, MFA];

/// The `amr` value a session carries once a second factor was proven (RFC 8176 §2).
const MULTIPLE_FACTORS: &str = "mfa";

/// Whether a sign-in must take a second factor. `acr_values` is an ordered preference
/// (OIDC Core §3.1.2.1) that we satisfy with the first value we can: a listed password
/// level is always satisfiable, so only a list whose every known value is the MFA level
/// requires it. Unknown values are passed over; a list of only unknown values asks for
/// nothing we can give, and so requires nothing (the claim is voluntary). A client that
/// requires MFA requires it whatever the request says.
pub fn requires_mfa(acr_values: &[String], client_requires_mfa: bool) -> bool {
    if client_requires_mfa {
        return true;
    }
    let mut known = acr_values
        .iter()
        .filter(|v| SUPPORTED.contains(&v.as_str()))
        .peekable();
    known.peek().is_some() && known.all(|v| v == MFA)
}

/// Whether the session's methods meet the MFA level.
pub fn has_mfa(amr: &[String]) -> bool {
    amr.iter().any(|m| m == MULTIPLE_FACTORS)
}

/// The level a session's methods reached: the ID token's `acr`.
pub fn achieved(amr: &[String]) -> &'static str {
    if has_mfa(amr) { MFA } else { PASSWORD }
}

/// The `acr_values` parameter: space-separated, in order of preference.
pub fn parse(raw: Option<&str>) -> Vec<String> {
    raw.map(|r| r.split_ascii_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(raw: &str) -> Vec<String> {
        parse(Some(raw))
    }

    #[test]
    fn only_a_list_of_nothing_but_the_mfa_level_requires_a_second_factor() {
        assert!(requires_mfa(&values(MFA), false));
        assert!(requires_mfa(&values(&format!("urn:other {MFA}")), false));
        assert!(!requires_mfa(&values(&format!("{PASSWORD} {MFA}")), false));
        assert!(!requires_mfa(&values(&format!("{MFA} {PASSWORD}")), false));
        assert!(!requires_mfa(&values("urn:other"), false));
        assert!(!requires_mfa(&[], false));
    }

    #[test]
    fn a_client_that_requires_mfa_always_does() {
        assert!(requires_mfa(&[], true));
        assert!(requires_mfa(&values(PASSWORD), true));
    }

    #[test]
    fn the_achieved_level_follows_the_methods() {
        let amr = |m: &[&str]| m.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(achieved(&amr(&["pwd"])), PASSWORD);
        assert_eq!(achieved(&amr(&["pwd", "otp", "mfa"])), MFA);
    }
}
