//! Which address a request comes from. Behind reverse proxies the operator trusts
//! (`server.trusted_proxies`), the client is the rightmost hop of `Forwarded` (RFC 7239) or
//! `X-Forwarded-For` that is not one of them; from anywhere else, the socket's peer: a
//! header a client sends itself proves nothing.

use std::net::IpAddr;

use anyhow::Context;
use ipnet::IpNet;

#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// CIDRs (`10.0.0.0/8`, `fd00::/8`) or single addresses.
    pub fn parse(entries: &[String]) -> anyhow::Result<Self> {
        let nets = entries
            .iter()
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .with_context(|| {
                        format!("invalid configuration: server.trusted_proxies: {entry:?}")
                    })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self(nets))
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address, given the peer and the forwarding headers (all their lines,
    /// comma-joined). `Forwarded` wins over `X-Forwarded-For` when both are sent.
    pub fn client_ip(
        &self,
        peer: Option<IpAddr>,
        forwarded: Option<&str>,
        x_forwarded_for: Option<&str>,
    ) -> Option<IpAddr> {
        let peer_ip = peer?;
        if !self.trusts(peer_ip) {
            return Some(peer_ip);
        }
        let hops: Vec<Option<IpAddr>> = match (forwarded, x_forwarded_for) {
            (Some(forwarded), _) => forwarded.split(',').map(forwarded_for).collect(),
            (None, Some(list)) => list.split(',').map(|hop| hop.trim().parse().ok()).collect(),
            (None, None) => return Some(peer_ip),
        };
        for hop in hops.into_iter().rev() {
            match hop {
                Some(ip) if self.trusts(ip) => continue,
                Some(ip) => return Some(ip),
                // An obfuscated or unknown hop: nothing beyond it can be believed.
                None => return Some(peer_ip),
            }
        }
        Some(peer_ip)
    }
}

/// The `for=` address of one `Forwarded` element: `192.0.2.60`, `"192.0.2.60:47011"`,
/// `"[2001:db8::1]:4711"`.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    let value = element.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        name.eq_ignore_ascii_case("for").then_some(value)
    })?;
    let value = value.trim().trim_matches('"');
    if let Some(rest) = value.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    let host = match value.split_once(':') {
        Some((host, port)) if !port.contains(':') => host,
        _ => value,
    };
    host.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies() -> TrustedProxies {
        TrustedProxies::parse(&["10.0.0.0/8".into(), "127.0.0.1".into()]).unwrap()
    }

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let client = proxies().client_ip(ip("203.0.113.9"), None, Some("198.51.100.1"));
        assert_eq!(client, ip("203.0.113.9"));
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_ip(ip("127.0.0.1"), None, Some("1.2.3.4")),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let p = proxies();
        let xff = "198.51.100.7, 203.0.113.5, 10.1.2.3";
        assert_eq!(
            p.client_ip(ip("10.0.0.1"), None, Some(xff)),
            ip("203.0.113.5")
        );
        let forwarded = r#"for=198.51.100.7, for="[2001:db8::1]:4711";proto=https, for=10.0.0.2"#;
        assert_eq!(
            p.client_ip(ip("127.0.0.1"), Some(forwarded), Some("1.1.1.1")),
            ip("2001:db8::1")
        );
        assert_eq!(
            p.client_ip(ip("127.0.0.1"), Some(r#"for="192.0.2.60:47011""#), None),
            ip("192.0.2.60")
        );
    }

    #[test]
    fn unknown_hops_and_garbage_fall_back_to_the_peer() {
        let p = proxies();
        assert_eq!(
            p.client_ip(ip("10.0.0.1"), Some("for=unknown"), None),
            ip("10.0.0.1")
        );
        assert_eq!(
            p.client_ip(ip("10.0.0.1"), None, Some("not-an-ip")),
            ip("10.0.0.1")
        );
        assert!(TrustedProxies::parse(&["10.0.0.0/33".into()]).is_err());
    }
}
