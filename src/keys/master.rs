//! The master key that encrypts private signing keys at rest (JWE `dir` + `A256GCM`), and
//! during a rotation the previous one, which still decrypts.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use josekit::jwe::{self, Dir, JweHeader};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox, SecretString};

use crate::settings::Settings;

pub struct MasterKey(SecretBox<[u8; 32]>);

impl MasterKey {
    /// From `keys.encryption_key`, `keys.encryption_key_file`, or (SQLite only) a key file
    /// generated beside the database.
    pub fn load(settings: &Settings) -> anyhow::Result<Self> {
        if let Some(key) = Self::configured(settings)? {
            return Ok(key);
        }
        match settings.database.sqlite_path() {
            Some(db) => Self::load_or_create_beside(&db),
            None => bail!(
                "invalid configuration: keys.encryption_key (or keys.encryption_key_file) is required \
                 unless the database is a SQLite file"
            ),
        }
    }

    /// `keys.encryption_key` or `keys.encryption_key_file` when one is set; never generates.
    pub fn configured(settings: &Settings) -> anyhow::Result<Option<Self>> {
        let keys = &settings.keys;
        let (value, file) = (&keys.encryption_key, &keys.encryption_key_file);
        Self::from_value_or_file(value.as_ref(), file.as_deref(), "keys.encryption_key")
    }

    /// The value when given, else the file's contents; `name` is the value's setting.
    fn from_value_or_file(
        value: Option<&SecretString>,
        file: Option<&Path>,
        name: &str,
    ) -> anyhow::Result<Option<Self>> {
        let key = match (value, file) {
            (Some(raw), _) => Self::from_encoded(raw.expose_secret(), name),
            (None, Some(path)) => Self::from_file(path, &format!("{name}_file")),
            (None, None) => return Ok(None),
        };
        key.map(Some)
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e:#}"))
    }

    /// A key as `gatehouse gen-key` prints it; `name` says where it came from, for errors
    /// (which never show the value).
    pub fn from_encoded(raw: &str, name: &str) -> anyhow::Result<Self> {
        let raw = raw.trim();
        let bytes = URL_SAFE_NO_PAD
            .decode(raw.trim_end_matches('='))
            .or_else(|_| STANDARD.decode(raw))
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .with_context(|| format!("{name} must be 32 bytes, base64url-encoded"))?;
        Ok(Self(SecretBox::new(Box::new(bytes))))
    }

    /// A key from a file holding what `gatehouse gen-key` prints.
    pub fn from_file(path: &Path, name: &str) -> anyhow::Result<Self> {
        let raw = std::fs::read_to_string(path)
            .with_context(|| format!("{name}: cannot read {}", path.display()))?;
        Self::from_encoded(&raw, name)
    }

    /// Whether two keys are the same key (in constant time, though neither is shown).
    pub fn same_as(&self, other: &MasterKey) -> bool {
        use subtle::ConstantTimeEq;
        self.0.expose_secret().ct_eq(other.0.expose_secret()).into()
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
            return Self::from_file(&path, "the key file beside the database");
        }
        let encoded = Self::generate_encoded();
        write_owner_only(&path, &encoded)?;
        tracing::warn!(
            path = %path.display(),
            "generated a key-encryption key file beside the SQLite database; back it up with the \
             database, or set keys.encryption_key / keys.encryption_key_file"
        );
        Self::from_encoded(&encoded, "generated key file")
    }

    pub fn encrypt(&self, plaintext: &[u8]) -> anyhow::Result<String> {
        seal(self.0.expose_secret(), plaintext)
    }

    /// Fails on a wrong key or any tampering; [`MasterKeys::decrypt`] says which secret.
    pub fn decrypt(&self, jwe_compact: &str) -> anyhow::Result<Vec<u8>> {
        open(self.0.expose_secret(), jwe_compact)
    }
}

/// The configured master keys: the current one, which encrypts, and during a rotation the
/// previous one, which only decrypts what the current one cannot (secrets not yet rewrapped).
pub struct MasterKeys {
    pub current: MasterKey,
    pub previous: Option<MasterKey>,
}

impl MasterKeys {
    pub fn load(settings: &Settings) -> anyhow::Result<Self> {
        let current = MasterKey::load(settings)?;
        let keys = &settings.keys;
        let previous = MasterKey::from_value_or_file(
            keys.previous_encryption_key.as_ref(),
            keys.previous_encryption_key_file.as_deref(),
            "keys.previous_encryption_key",
        )?;
        Ok(Self { current, previous })
    }

    /// Always under the current key.
    pub fn encrypt(&self, plaintext: &[u8]) -> anyhow::Result<String> {
        self.current.encrypt(plaintext)
    }

    /// Under the current key, else the previous one; `what` names the secret in the error
    /// and in the warning that a rewrap is still due.
    pub fn decrypt(&self, what: &str, jwe_compact: &str) -> anyhow::Result<Vec<u8>> {
        if let Ok(plaintext) = self.current.decrypt(jwe_compact) {
            return Ok(plaintext);
        }
        let Some(previous) = &self.previous else {
            bail!(
                "cannot decrypt {what} with keys.encryption_key: is it the key it was stored \
                 with? (while rotating keys, set the old one as keys.previous_encryption_key)"
            );
        };
        let plaintext = previous.decrypt(jwe_compact).with_context(|| {
            format!(
                "cannot decrypt {what} with keys.encryption_key nor with \
                 keys.previous_encryption_key: neither is the key it was stored with"
            )
        })?;
        tracing::warn!(
            what,
            "stored under keys.previous_encryption_key; run `gatehouse keys rewrap` before \
             removing that key"
        );
        Ok(plaintext)
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
        let key = new_key();
        let other = new_key();
        let sealed = key.encrypt(b"private").unwrap();
        assert_eq!(key.decrypt(&sealed).unwrap(), b"private");
        assert!(other.decrypt(&sealed).is_err());
    }

    #[test]
    fn short_keys_are_rejected_with_the_key_name() {
        let err = MasterKey::from_encoded("abc", "keys.encryption_key")
            .err()
            .unwrap();
        assert!(err.to_string().contains("keys.encryption_key"));
        assert!(!err.to_string().contains("abc"), "the value is never shown");
    }

    fn new_key() -> MasterKey {
        MasterKey::from_encoded(&MasterKey::generate_encoded(), "k").unwrap()
    }

    #[test]
    fn the_previous_key_decrypts_but_never_encrypts() {
        let (old, new) = (new_key(), new_key());
        let under_old = old.encrypt(b"private").unwrap();
        let keys = MasterKeys {
            current: new_key(),
            previous: None,
        };
        let err = keys.decrypt("signing key k1", &under_old).unwrap_err();
        assert!(err.to_string().contains("signing key k1"), "{err}");
        assert!(err.to_string().contains("previous_encryption_key"), "{err}");

        let keys = MasterKeys {
            current: new,
            previous: Some(old),
        };
        assert_eq!(keys.decrypt("k1", &under_old).unwrap(), b"private");
        let sealed = keys.encrypt(b"fresh").unwrap();
        assert_eq!(keys.current.decrypt(&sealed).unwrap(), b"fresh");
        assert!(keys.previous.as_ref().unwrap().decrypt(&sealed).is_err());
        let stranger = new_key().encrypt(b"x").unwrap();
        let err = keys.decrypt("signing key k2", &stranger).unwrap_err();
        assert!(err.to_string().contains("neither"), "{err}");
    }

    #[test]
    fn key_file_sits_beside_the_database() {
        assert_eq!(
            key_file_beside(Path::new("data/gh.db")),
            PathBuf::from("data/gh.db.key")
        );
    }
}
