//! The master key that encrypts private signing keys at rest (JWE `dir` + `A256GCM`).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use josekit::jwe::{self, Dir, JweHeader};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox};

use crate::settings::Settings;

pub struct MasterKey(SecretBox<[u8; 32]>);

impl MasterKey {
    /// From `keys.encryption_key`, `keys.encryption_key_file`, or (SQLite only) a key file
    /// generated beside the database.
    pub fn load(settings: &Settings) -> anyhow::Result<Self> {
        if let Some(raw) = &settings.keys.encryption_key {
            return Self::decode(raw.expose_secret(), "keys.encryption_key");
        }
        if let Some(path) = &settings.keys.encryption_key_file {
            let raw = std::fs::read_to_string(path).with_context(|| {
                format!("keys.encryption_key_file: cannot read {}", path.display())
            })?;
            return Self::decode(&raw, "keys.encryption_key_file");
        }
        match settings.database.sqlite_path() {
            Some(db) => Self::load_or_create_beside(&db),
            None => bail!(
                "invalid configuration: keys.encryption_key (or keys.encryption_key_file) is required \
                 unless the database is a SQLite file"
            ),
        }
    }

    fn decode(raw: &str, key: &str) -> anyhow::Result<Self> {
        let raw = raw.trim();
        let bytes = URL_SAFE_NO_PAD
            .decode(raw.trim_end_matches('='))
            .or_else(|_| STANDARD.decode(raw))
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .with_context(|| {
                format!("invalid configuration: {key} must be 32 bytes, base64url-encoded")
            })?;
        Ok(Self(SecretBox::new(Box::new(bytes))))
    }

    /// A 32-byte key for a named purpose (HKDF-SHA-256, RFC 5869), independent of the key
    /// itself and of every other purpose's.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut key = [0u8; 32];
        // 32 bytes is far below HKDF-SHA-256's limit, so expand cannot fail.
        let hkdf = hkdf::Hkdf::<sha2::Sha256>::new(None, self.0.expose_secret());
        let _ = hkdf.expand(purpose.as_bytes(), &mut key);
        key
    }

    /// A fresh random key, encoded as the configuration expects.
    pub fn generate_encoded() -> String {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn load_or_create_beside(db: &Path) -> anyhow::Result<Self> {
        let path = key_file_beside(db);
        if path.exists() {
            let raw = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read key file {}", path.display()))?;
            return Self::decode(&raw, &path.display().to_string());
        }
        let encoded = Self::generate_encoded();
        write_owner_only(&path, &encoded)?;
        tracing::warn!(
            path = %path.display(),
            "generated a key-encryption key file beside the SQLite database; back it up with the \
             database, or set keys.encryption_key / keys.encryption_key_file"
        );
        Self::decode(&encoded, "generated key file")
    }

    pub fn encrypt(&self, plaintext: &[u8]) -> anyhow::Result<String> {
        seal(self.0.expose_secret(), plaintext)
    }

    pub fn decrypt(&self, jwe_compact: &str) -> anyhow::Result<Vec<u8>> {
        open(self.0.expose_secret(), jwe_compact).context(
            "cannot decrypt a signing key: is keys.encryption_key the one it was stored with?",
        )
    }
}

/// Authenticated encryption under a 32-byte key, as a compact JWE (`dir`, `A256GCM`).
pub fn seal(key: &[u8; 32], plaintext: &[u8]) -> anyhow::Result<String> {
    let encrypter = Dir.encrypter_from_bytes(key)?;
    let mut header = JweHeader::new();
    header.set_content_encryption("A256GCM");
    Ok(jwe::serialize_compact(plaintext, &header, &encrypter)?)
}

/// Opens what [`seal`] produced; fails on a wrong key or any tampering.
pub fn open(key: &[u8; 32], jwe_compact: &str) -> anyhow::Result<Vec<u8>> {
    let decrypter = Dir.decrypter_from_bytes(key)?;
    let (plaintext, _) = jwe::deserialize_compact(jwe_compact, &decrypter)?;
    Ok(plaintext)
}

fn key_file_beside(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".key");
    db.with_file_name(name)
}

fn write_owner_only(path: &Path, contents: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create key file {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypt_round_trips_and_wrong_key_fails() {
        let key = MasterKey::decode(&MasterKey::generate_encoded(), "k").unwrap();
        let other = MasterKey::decode(&MasterKey::generate_encoded(), "k").unwrap();
        let sealed = key.encrypt(b"private").unwrap();
        assert_eq!(key.decrypt(&sealed).unwrap(), b"private");
        assert!(other.decrypt(&sealed).is_err());
    }

    #[test]
    fn short_keys_are_rejected_with_the_key_name() {
        let err = MasterKey::decode("abc", "keys.encryption_key")
            .err()
            .unwrap();
        assert!(err.to_string().contains("keys.encryption_key"));
    }

    #[test]
    fn key_file_sits_beside_the_database() {
        assert_eq!(
            key_file_beside(Path::new("data/gh.db")),
            PathBuf::from("data/gh.db.key")
        );
    }
}
