//! `[server]`: the listener, the issuer, the proxies in front, draining and native TLS.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::bail;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    pub issuer: String,
    pub workers: usize,
    /// Reverse proxies whose forwarding headers are believed (CIDRs or addresses).
    pub trusted_proxies: Vec<String>,
    /// After SIGTERM: how long `/readyz` answers 503 while requests are still served, so
    /// load balancers stop sending new ones before the listener closes.
    pub drain_secs: u64,
    /// After the drain: how long requests in flight may take before they are cut off.
    pub shutdown_timeout_secs: u64,
    #[serde(default)]
    pub tls: TlsSettings,
}

/// Native TLS: both files, or neither (plain HTTP behind a proxy that terminates TLS).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// PEM: the certificate chain, leaf first.
    pub cert_file: Option<PathBuf>,
    /// PEM: the private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: Option<PathBuf>,
}

impl TlsSettings {
    /// The two files when TLS is on.
    pub fn files(&self) -> anyhow::Result<Option<(PathBuf, PathBuf)>> {
        match (&self.cert_file, &self.key_file) {
            (Some(cert), Some(key)) => Ok(Some((cert.clone(), key.clone()))),
            (None, None) => Ok(None),
            _ => bail!(
                "invalid configuration: server.tls.cert_file and server.tls.key_file go together"
            ),
        }
    }
}
