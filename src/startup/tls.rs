//! Native TLS on rustls (ring): TLS 1.3 and 1.2 only, the certificate and key read from
//! `server.tls.cert_file` / `key_file` and read again on SIGHUP. Handshakes take the key pair
//! the resolver holds at that moment, so a renewed certificate serves new connections at
//! once and no open connection is dropped.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use arc_swap::ArcSwap;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ServerConfig, version};

/// The served certificate and key, swapped whole by [`Certificates::reload`].
pub struct Certificates {
    cert_file: PathBuf,
    key_file: PathBuf,
    provider: Arc<CryptoProvider>,
    current: ArcSwap<CertifiedKey>,
}

impl Certificates {
    /// Reads both files; an unreadable or mismatched pair stops the start with its reason.
    pub fn load(cert_file: &Path, key_file: &Path) -> anyhow::Result<Arc<Self>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let pair = read_pair(cert_file, key_file, &provider)?;
        Ok(Arc::new(Self {
            cert_file: cert_file.to_owned(),
            key_file: key_file.to_owned(),
            provider,
            current: ArcSwap::from_pointee(pair),
        }))
    }

    /// Reads the files again and serves them from the next handshake on; on any error the
    /// pair in use stays.
    pub fn reload(&self) -> anyhow::Result<()> {
        let pair = read_pair(&self.cert_file, &self.key_file, &self.provider)?;
        self.current.store(Arc::new(pair));
        Ok(())
    }

    /// The server configuration: TLS 1.3 and 1.2, no client certificates, this resolver.
    pub fn server_config(self: &Arc<Self>) -> anyhow::Result<ServerConfig> {
        let config = ServerConfig::builder_with_provider(self.provider.clone())
            .with_protocol_versions(&[&version::TLS13, &version::TLS12])
            .context("TLS protocol versions")?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        Ok(config)
    }
}

fn read_pair(
    cert_file: &Path,
    key_file: &Path,
    provider: &CryptoProvider,
) -> anyhow::Result<CertifiedKey> {
    let cert = || format!("server.tls.cert_file {}", cert_file.display());
    let chain = CertificateDer::pem_file_iter(cert_file)
        .with_context(cert)?
        .collect::<Result<Vec<_>, _>>()
        .with_context(cert)?;
    anyhow::ensure!(!chain.is_empty(), "{}: no certificate in it", cert());
    let key = || format!("server.tls.key_file {}", key_file.display());
    let private = PrivateKeyDer::from_pem_file(key_file).with_context(key)?;
    CertifiedKey::from_der(chain, private, provider)
        .with_context(|| format!("{} and {}", cert(), key()))
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

impl fmt::Debug for Certificates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificates")
            .field("cert_file", &self.cert_file)
            .finish_non_exhaustive()
    }
}
