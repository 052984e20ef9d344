//! Redirect URIs (RFC 6749 §3.1.2): compared with the registered ones by exact string
//! match only (RFC 9700 §4.1.1; OAuth 2.1 §2.3.1), never by prefix or pattern — with the one
//! exception RFC 8252 §7.3 makes for native apps: a loopback IP redirect registered without
//! a port matches on any port, since the app listens on whatever port the OS gives it.

use super::Error;
use crate::clients::ApplicationType;

/// The loopback IP literals of RFC 8252 §7.3 (`localhost` is not one: §8.3).
const LOOPBACK_IPS: [&str; 2] = ["http://127.0.0.1", "http://[::1]"];

/// Longest redirect URI we accept on the wire.
pub const MAX_LEN: usize = 2048;

/// A redirect URI as presented: non-empty and bounded; whether it is allowed is decided by
/// [`is_registered`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri(String);

impl RedirectUri {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        if raw.is_empty() || raw.len() > MAX_LEN {
            return Err(Error::invalid_request("redirect_uri is malformed"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Exact match against one of the registered URIs.
pub fn is_registered(registered: &[String], presented: &str) -> bool {
    registered.iter().any(|r| r == presented)
}

/// Whether `presented` is one of the client's redirect URIs: an exact match, or for a native
/// client a loopback IP URI that is exactly a registered one once its port is taken out
/// (path and query still exact). The code exchange must then repeat the URI as presented.
pub fn matches(kind: ApplicationType, registered: &[String], presented: &str) -> bool {
    if is_registered(registered, presented) {
        return true;
    }
    kind == ApplicationType::Native
        && without_loopback_port(presented).is_some_and(|bare| is_registered(registered, &bare))
}

/// `http://127.0.0.1:51004/cb` → `http://127.0.0.1/cb`, for the loopback IPs only; `None`
/// for anything else, or a port that is not one.
fn without_loopback_port(presented: &str) -> Option<String> {
    LOOPBACK_IPS.iter().find_map(|base| {
        let rest = presented.strip_prefix(base)?.strip_prefix(':')?;
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (port, tail) = rest.split_at(digits);
        let port_ok = port.parse::<u16>().is_ok_and(|p| p > 0);
        (port_ok && tail.starts_with('/')).then(|| format!("{base}{tail}"))
    })
}

/// Whether `uri` may be registered for a client of `kind` (OAuth 2.1 §2.3.1, RFC 8252 §7):
/// absolute, no fragment, no wildcard, and `https` — except `http` on a loopback host for
/// any client, and a private-use scheme (reverse domain name, so it has a dot) for native
/// clients. The error names what is wrong.
pub fn check_registration(kind: ApplicationType, uri: &str) -> Result<(), String> {
    let parsed = url::Url::parse(uri).map_err(|_| format!("{uri:?} is not an absolute URI"))?;
    if uri.len() > MAX_LEN || uri.contains('*') || parsed.fragment().is_some() {
        return Err(format!("{uri:?} must not contain a fragment or a wildcard"));
    }
    let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err(format!(
            "{uri:?} must use https (http only on a loopback host)"
        )),
        scheme if kind == ApplicationType::Native && scheme.contains('.') => Ok(()),
        _ if kind == ApplicationType::Native => Err(format!(
            "{uri:?}: a native app's own scheme is a reverse domain name, like com.example.app"
        )),
        _ => Err(format!("{uri:?} must use https")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registered() -> Vec<String> {
        vec![
            "https://app.example/cb".into(),
            "http://127.0.0.1:8081/callback".into(),
        ]
    }

    #[test]
    fn only_an_exact_match_is_registered() {
        let r = registered();
        assert!(is_registered(&r, "https://app.example/cb"));
        for near in [
            "https://app.example/cb/",
            "https://app.example/cb?x=1",
            "https://app.example/cb#f",
            "https://APP.example/cb",
            "https://app.example/c",
            "https://app.example/cb/../cb",
            "http://127.0.0.1:8082/callback",
            "",
        ] {
            assert!(!is_registered(&r, near), "{near}");
        }
    }

    #[test]
    fn a_native_clients_loopback_ip_redirect_matches_on_any_port() {
        let native = ApplicationType::Native;
        let r = vec![
            "http://127.0.0.1/callback".to_owned(),
            "http://[::1]/cb?x=1".to_owned(),
            "com.example.app:/callback".to_owned(),
        ];
        for ok in [
            "http://127.0.0.1/callback",
            "http://127.0.0.1:51004/callback",
            "http://[::1]:8/cb?x=1",
            "com.example.app:/callback",
        ] {
            assert!(matches(native, &r, ok), "{ok}");
        }
        for refused in [
            "http://127.0.0.1:51004/other",
            "http://127.0.0.1:51004/callback?x=1",
            "http://127.0.0.1:0/callback",
            "http://127.0.0.1:99999/callback",
            "http://127.0.0.1:/callback",
            "http://localhost:51004/callback",
            "http://127.0.0.1:51004@evil.example/callback",
            "com.example.app:/other",
        ] {
            assert!(!matches(native, &r, refused), "{refused}");
        }
        assert!(!matches(
            ApplicationType::Web,
            &r,
            "http://127.0.0.1:51004/callback"
        ));
    }

    #[test]
    fn registrations_follow_the_oauth_2_1_rules() {
        let (web, native) = (ApplicationType::Web, ApplicationType::Native);
        for ok in [
            "https://app.example/cb",
            "http://127.0.0.1/cb",
            "http://[::1]:8080/cb",
            "http://localhost:3000/cb",
        ] {
            assert_eq!(check_registration(web, ok), Ok(()), "{ok}");
        }
        assert_eq!(
            check_registration(native, "com.example.app:/callback"),
            Ok(())
        );
        for refused in [
            "/relative",
            "https://app.example/cb#frag",
            "https://*.example/cb",
            "http://app.example/cb",
            "com.example.app:/callback",
            "javascript:alert(1)",
        ] {
            assert!(check_registration(web, refused).is_err(), "{refused}");
        }
        assert!(check_registration(native, "myapp:/callback").is_err());
        assert!(check_registration(native, "http://app.example/cb").is_err());
    }

    #[test]
    fn overlong_or_empty_values_are_refused() {
        assert!(RedirectUri::parse("").is_err());
        assert!(RedirectUri::parse(&"a".repeat(MAX_LEN + 1)).is_err());
        assert!(RedirectUri::parse("https://app.example/cb").is_ok());
    }
}
