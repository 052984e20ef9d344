//! Rotating the master key: every secret stored under the old key is re-encrypted under the
//! new one, in one transaction.

use std::fmt;

use sea_orm::{DatabaseConnection, DatabaseTransaction};
use secrecy::{ExposeSecret, SecretSlice};

use super::{MasterKey, store};
use crate::database::DbContext;

/// Secrets of one kind: how many were re-encrypted, how many were already under the new key.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RewrapCounts {
    pub rewrapped: usize,
    pub already_current: usize,
}

/// What [`rewrap`] did, by kind of secret.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RewrapReport {
    pub signing_keys: RewrapCounts,
    pub totp_secrets: RewrapCounts,
}

impl fmt::Display for RewrapReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (keys, totp) = (self.signing_keys, self.totp_secrets);
        write!(
            f,
            "signing keys: {} rewrapped, {} already under the new key; TOTP secrets: {} \
             rewrapped, {} already under the new key",
            keys.rewrapped, keys.already_current, totp.rewrapped, totp.already_current
        )
    }
}

/// Re-encrypts every secret stored under `old` with `new`, in one transaction: either all of
/// them end up under `new` or nothing changes. A secret that `new` already opens is left as
/// it is, so running it again is harmless; one that neither key opens is an error naming it.
/// Servers keep running meanwhile: they hold their keys decrypted, and with `new` as
/// `keys.encryption_key` (and `old` as `keys.previous_encryption_key`) they read either form.
///
/// This is the one place that knows which secrets the master key protects: the private
/// signing keys and the TOTP secrets, in the same transaction and each with their own
/// [`RewrapCounts`] in the report, so that one `gatehouse keys rewrap` rotates the key for
/// everything.
#[tracing::instrument(skip_all)]
pub async fn rewrap(
    db: &DatabaseConnection,
    old: &MasterKey,
    new: &MasterKey,
) -> anyhow::Result<RewrapReport> {
    let txn = crate::database::begin_write(db)
        .await
        .db_context("starting the rewrap")?;
    let rewrapped = match rewrap_signing_keys(&txn, old, new).await {
        Ok(signing_keys) => rewrap_totp_secrets(&txn, old, new)
            .await
            .map(|totp_secrets| (signing_keys, totp_secrets)),
        Err(error) => Err(error),
    };
    match rewrapped {
        Ok((signing_keys, totp_secrets)) => {
            txn.commit().await.db_context("committing the rewrap")?;
            let report = RewrapReport {
                signing_keys,
                totp_secrets,
            };
            tracing::info!(%report, "rewrapped the stored secrets under the new key");
            Ok(report)
        }
        Err(error) => {
            // Nothing was committed; the error that stopped the rewrap is the one to report.
            let _ = txn.rollback().await;
            Err(error)
        }
    }
}

async fn rewrap_signing_keys(
    txn: &DatabaseTransaction,
    old: &MasterKey,
    new: &MasterKey,
) -> anyhow::Result<RewrapCounts> {
    let mut counts = RewrapCounts::default();
    for (kid, sealed) in store::all_private_for_update(txn).await? {
        let what = format!("signing key {kid}");
        let Some(resealed) = reseal(old, new, &what, &sealed)? else {
            counts.already_current += 1;
            continue;
        };
        let replaced = store::replace_private(txn, &kid, &sealed, resealed).await?;
        anyhow::ensure!(
            replaced,
            "{what} changed while it was being rewrapped; nothing was changed, run it again"
        );
        counts.rewrapped += 1;
    }
    Ok(counts)
}

async fn rewrap_totp_secrets(
    txn: &DatabaseTransaction,
    old: &MasterKey,
    new: &MasterKey,
) -> anyhow::Result<RewrapCounts> {
    let mut counts = RewrapCounts::default();
    for (user_id, kind, sealed) in store::all_factor_secrets_for_update(txn).await? {
        let what = format!("the {kind} secret of user {user_id}");
        let Some(resealed) = reseal(old, new, &what, &sealed)? else {
            counts.already_current += 1;
            continue;
        };
        let at = (user_id.as_str(), kind.as_str());
        let replaced = store::replace_factor_secret(txn, at, &sealed, resealed).await?;
        anyhow::ensure!(
            replaced,
            "{what} changed while it was being rewrapped; nothing was changed, run it again"
        );
        counts.rewrapped += 1;
    }
    Ok(counts)
}

/// `None` when `sealed` is already under `new`, else its plaintext sealed under `new`.
fn reseal(
    old: &MasterKey,
    new: &MasterKey,
    what: &str,
    sealed: &str,
) -> anyhow::Result<Option<String>> {
    if new.decrypt(sealed).is_ok() {
        return Ok(None);
    }
    // Zeroed when dropped: the plaintext lives only as long as this function.
    let plaintext: SecretSlice<u8> = match old.decrypt(sealed) {
        Ok(bytes) => bytes.into(),
        Err(_) => anyhow::bail!(
            "{what} decrypts under neither the old key nor the new one (is the old key the one \
             it was stored with?); nothing was changed"
        ),
    };
    new.encrypt(plaintext.expose_secret()).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MasterKey {
        MasterKey::from_encoded(&MasterKey::generate_encoded(), "k").unwrap()
    }

    #[test]
    fn reseal_moves_old_to_new_leaves_new_and_refuses_strangers() {
        let (old, new) = (key(), key());
        let under_old = old.encrypt(b"secret").unwrap();
        let resealed = reseal(&old, &new, "k1", &under_old).unwrap().unwrap();
        assert_eq!(new.decrypt(&resealed).unwrap(), b"secret");

        assert_eq!(reseal(&old, &new, "k1", &resealed).unwrap(), None);

        let stranger = key().encrypt(b"secret").unwrap();
        let err = reseal(&old, &new, "signing key k9", &stranger).unwrap_err();
        assert!(err.to_string().contains("signing key k9"), "{err}");
    }
}
