//! Argon2id password hashing: PHC strings, parameters from config, run on the blocking pool
//! with bounded concurrency so a login storm cannot starve the token endpoint.

use std::sync::Arc;

use anyhow::{Context, anyhow};
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

use crate::settings::PasswordSettings;
use crate::telemetry::spawn_blocking_with_tracing;

#[derive(Clone)]
pub struct Passwords {
    argon: Argon2<'static>,
    permits: Arc<Semaphore>,
    /// Verified against when the user does not exist, so timing does not reveal who does.
    dummy_hash: Arc<str>,
}

impl Passwords {
    pub fn new(settings: &PasswordSettings) -> anyhow::Result<Self> {
        let params = Params::new(
            settings.memory_kib,
            settings.iterations,
            settings.parallelism,
            None,
        )
        .map_err(|e| anyhow!("invalid configuration: passwords: {e}"))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy_hash = argon
            .hash_password(b"gatehouse-dummy-password")
            .map_err(|e| anyhow!("argon2: {e}"))?
            .to_string();
        let concurrency = match settings.max_concurrent {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        Ok(Self {
            argon,
            permits: Arc::new(Semaphore::new(concurrency)),
            dummy_hash: dummy_hash.into(),
        })
    }

    /// A PHC string (`$argon2id$v=19$m=…`) for a new password.
    pub async fn hash(&self, password: &SecretString) -> anyhow::Result<String> {
        let argon = self.argon.clone();
        let password = password.clone();
        self.blocking(move || {
            argon
                .hash_password(password.expose_secret().as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| anyhow!("argon2: {e}"))
        })
        .await
    }

    /// Checks a password against a stored PHC string, or against a dummy when there is none.
    pub async fn verify(
        &self,
        password: &SecretString,
        stored: Option<&str>,
    ) -> anyhow::Result<bool> {
        let known = stored.is_some();
        let phc: Arc<str> = stored.map_or_else(|| self.dummy_hash.clone(), Arc::from);
        let argon = self.argon.clone();
        let password = password.clone();
        let matches = self
            .blocking(move || {
                Ok(argon
                    .verify_password(password.expose_secret().as_bytes(), &*phc)
                    .is_ok())
            })
            .await?;
        Ok(known && matches)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .context("password hasher closed")?;
        spawn_blocking_with_tracing(work)
            .await
            .context("password task")?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passwords() -> Passwords {
        Passwords::new(&PasswordSettings {
            memory_kib: 19456,
            iterations: 2,
            parallelism: 1,
            max_concurrent: 1,
        })
        .unwrap()
    }

    #[tokio::test]
    async fn hashes_are_argon2id_phc_and_verify() {
        let p = passwords();
        let secret = SecretString::from("Admin@123");
        let phc = p.hash(&secret).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(p.verify(&secret, Some(&phc)).await.unwrap());
        assert!(
            !p.verify(&SecretString::from("nope"), Some(&phc))
                .await
                .unwrap()
        );
        assert!(!p.verify(&secret, None).await.unwrap());
    }
}
