//! Native TLS, as the real process serves it: https with a certificate made here (its CA
//! trusted by the client), HSTS for an https issuer, TLS 1.1 refused; then a new
//! certificate from another CA written over the files and SIGHUP sent: new connections get
//! the new certificate, the connection opened before keeps working, and the process is the
//! same one.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

use crate::helpers::{Backend, Isolation};
use crate::process::Instance;
use crate::topology::free_port;

/// A CA and a certificate it issued for 127.0.0.1, in PEM.
struct Pki {
    ca: String,
    cert: String,
    key: String,
}

fn pki(name: &str) -> Pki {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, name);
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
    let cert = CertificateParams::new(names)
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    Pki {
        ca: ca.pem(),
        cert: cert.pem(),
        key: key.serialize_pem(),
    }
}

/// A client that trusts `ca` alone.
fn trusting(ca: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap())
        .build()
        .unwrap()
}

fn install(dir: &std::path::Path, pki: &Pki) {
    // Written aside and renamed, as a certificate tool would, so no read sees half a file.
    for (name, pem) in [("cert.pem", &pki.cert), ("key.pem", &pki.key)] {
        let part = dir.join(format!("{name}.part"));
        std::fs::write(&part, pem).unwrap();
        std::fs::rename(&part, dir.join(name)).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_reloaded_certificate_on_sighup_without_a_restart() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let iso = Arc::new(Isolation::new(Backend::Postgres).await);
    let dir = tempdir();
    let (first, second) = (pki("first CA"), pki("second CA"));
    install(&dir, &first);
    let port = free_port();
    let base = format!("https://127.0.0.1:{port}");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let tls = [
        ("GATEHOUSE__SERVER__TLS__CERT_FILE", cert.to_str().unwrap()),
        ("GATEHOUSE__SERVER__TLS__KEY_FILE", key.to_str().unwrap()),
    ];
    let mut instance = Instance::spawn(&iso, port, &base, &tls);
    let old = trusting(&first.ca);
    instance.wait_ready(&old, &base).await;

    let response = old.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let hsts = response.headers()["strict-transport-security"]
        .to_str()
        .unwrap();
    assert!(hsts.starts_with("max-age="), "{hsts}");
    for version in ["-tls1_2", "-tls1_3"] {
        let (shook, said) = handshake(port, version);
        assert!(shook, "{version} is served: {said}");
    }
    let (shook, said) = handshake(port, "-tls1_1");
    assert!(
        !shook && said.contains("alert"),
        "TLS 1.1 is refused by the server: {said}"
    );
    let pid = instance.pid();

    install(&dir, &second);
    instance.signal(libc::SIGHUP);
    let new = trusting(&second.ca);
    let mut served = false;
    for _ in 0..50 {
        if new.get(format!("{base}/healthz")).send().await.is_ok() {
            served = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(served, "a new connection sees the new certificate");
    let kept = old.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(
        kept.status(),
        200,
        "the connection made before the reload still serves"
    );
    assert!(
        trusting(&first.ca)
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_err(),
        "a new connection no longer gets the old certificate"
    );
    assert!(instance.running(), "no restart");
    assert_eq!(instance.pid(), pid);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Whether OpenSSL's client, offering only the given version (`-tls1_2`, …), completes a
/// handshake, and what it said. SECLEVEL=0 lets it offer TLS 1.1 at all: the refusal must
/// be the server's alert.
fn handshake(port: u16, version: &str) -> (bool, String) {
    let output = std::process::Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args([version, "-cipher", "DEFAULT@SECLEVEL=0"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssl must be installed");
    let said = String::from_utf8_lossy(&output.stderr).to_lowercase();
    (output.status.success(), said)
}

fn tempdir() -> std::path::PathBuf {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let dir = std::env::temp_dir().join(format!("gatehouse-tls-{id}"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `gatehouse check-config` reads the pair as a start would, and names the files of a key
/// that does not belong to the certificate.
#[test]
fn check_config_reads_the_pair_and_names_a_mismatched_one() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempdir();
    let (first, second) = (pki("first CA"), pki("second CA"));
    install(&dir, &first);
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let check = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .arg("check-config")
            .current_dir(std::env::temp_dir())
            .env("GATEHOUSE__SERVER__TLS__CERT_FILE", &cert)
            .env("GATEHOUSE__SERVER__TLS__KEY_FILE", &key)
            .output()
            .unwrap()
    };
    let good = check();
    assert!(good.status.success());
    assert!(String::from_utf8_lossy(&good.stdout).contains("TLS certificate and key read"));

    std::fs::write(&key, &second.key).unwrap();
    let bad = check();
    let said = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success());
    assert!(
        said.contains("server.tls.key_file") && said.contains("key.pem"),
        "{said}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
