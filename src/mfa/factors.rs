//! The second-factor capability: TOTP enrolment (begun, then confirmed by a first code, which
//! hands out the recovery codes), checking a code at sign-in (a TOTP code or a recovery
//! code), regenerating recovery codes, and removing the factor.

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use secrecy::SecretString;

use super::totp::TotpSecret;
use super::{recovery, replay, store};
use crate::accounts::Passwords;
use crate::clock::SharedClock;
use crate::database::DbContext;
use crate::keys::KeyRing;
use crate::oauth::Error;
use crate::store::Store;

#[derive(Clone)]
pub struct Factors {
    pub db: DatabaseConnection,
    pub store: Store,
    pub keys: Arc<KeyRing>,
    /// Recovery codes are hashed like passwords, on the same bounded pool.
    pub passwords: Passwords,
    pub clock: SharedClock,
}

/// The second factors a user has, as the sign-in and the account page need them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Enrolled {
    /// A confirmed authenticator app.
    pub totp: bool,
    /// Codes mailed at sign-in, turned on by the user.
    pub email: bool,
    /// Unused recovery codes (they come with TOTP).
    pub recovery_codes_left: usize,
}

impl Enrolled {
    /// Whether the sign-in asks for a second factor at all.
    pub fn any(&self) -> bool {
        self.totp || self.email
    }
}

/// Which kind of code passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passed {
    Totp,
    RecoveryCode,
}

impl Factors {
    /// Whether the user has a confirmed TOTP factor (and the sign-in asks for a code).
    pub async fn has_totp(&self, user_id: &str) -> Result<bool, Error> {
        let row = store::totp_of(&self.db, user_id).await?;
        Ok(row.is_some_and(|r| r.confirmed_at.is_some()))
    }

    /// The user's second factors.
    pub async fn enrolled(&self, user_id: &str) -> Result<Enrolled, Error> {
        let rows = store::factors_of(&self.db, user_id).await?;
        let has = |kind: &str| {
            rows.iter()
                .any(|r| r.kind == kind && r.confirmed_at.is_some())
        };
        let totp = has(store::TOTP);
        let recovery_codes_left = match totp {
            true => store::unused_codes(&self.db, user_id).await?.len(),
            false => 0,
        };
        Ok(Enrolled {
            totp,
            email: has(store::EMAIL),
            recovery_codes_left,
        })
    }

    /// The secret of an enrolment begun and not yet confirmed (to show it again).
    pub async fn pending_totp(&self, user_id: &str) -> Result<Option<TotpSecret>, Error> {
        let Some(row) = store::totp_of(&self.db, user_id).await? else {
            return Ok(None);
        };
        if row.confirmed_at.is_some() {
            return Ok(None);
        }
        Ok(Some(self.open(&row.secret_jwe)?))
    }

    /// Turns email codes at sign-in on or off; `true` when that changed anything.
    pub async fn set_email_codes(&self, user_id: &str, on: bool) -> Result<bool, Error> {
        let now = self.clock.now();
        Ok(store::set_email_codes(&self.db, user_id, on, now).await?)
    }

    /// Starts (or starts again) a TOTP enrolment: a new secret, stored sealed and
    /// unconfirmed. `None` when the user already has a confirmed one.
    pub async fn begin_totp(&self, user_id: &str) -> Result<Option<TotpSecret>, Error> {
        let secret = TotpSecret::generate();
        let sealed = self.keys.seal_secret(secret.as_bytes())?;
        let now = self.clock.now();
        let stored = store::begin_totp(&self.db, user_id, sealed, now).await?;
        Ok(stored.then_some(secret))
    }

    /// Confirms the enrolment with a first code (which counts as used: it cannot sign in
    /// afterwards); returns the first recovery codes, to be shown once. `None` for a wrong
    /// or used code, or when no enrolment is waiting.
    pub async fn confirm_totp(
        &self,
        user_id: &str,
        code: &str,
    ) -> Result<Option<Vec<String>>, Error> {
        let Some(row) = store::totp_of(&self.db, user_id).await? else {
            return Ok(None);
        };
        if row.confirmed_at.is_some() || !self.totp_passes(user_id, &row.secret_jwe, code).await? {
            return Ok(None);
        }
        let (codes, hashes) = self.new_codes().await?;
        let now = self.clock.now();
        let txn = crate::database::begin_write(&self.db)
            .await
            .db_context("starting an enrolment")?;
        if !store::confirm_totp(&txn, user_id, now).await? {
            return Ok(None);
        }
        store::replace_codes(&txn, user_id, hashes, now).await?;
        txn.commit().await.db_context("committing an enrolment")?;
        Ok(Some(codes))
    }

    /// Checks a code typed at sign-in: a recovery code (used up by it) or a TOTP code
    /// (never accepted twice, at any instance). `None` when it is neither.
    pub async fn check(&self, user_id: &str, typed: &str) -> Result<Option<Passed>, Error> {
        if let Some(code) = recovery::normalise(typed) {
            let used = self.use_recovery_code(user_id, &code).await?;
            return Ok(used.then_some(Passed::RecoveryCode));
        }
        let Some(row) = store::totp_of(&self.db, user_id).await? else {
            return Ok(None);
        };
        let confirmed = row.confirmed_at.is_some();
        let passed = confirmed && self.totp_passes(user_id, &row.secret_jwe, typed).await?;
        Ok(passed.then_some(Passed::Totp))
    }

    /// A new set of recovery codes, replacing (and so invalidating) the old one.
    pub async fn regenerate_codes(&self, user_id: &str) -> Result<Vec<String>, Error> {
        let (codes, hashes) = self.new_codes().await?;
        let now = self.clock.now();
        let txn = crate::database::begin_write(&self.db)
            .await
            .db_context("starting a regeneration")?;
        store::replace_codes(&txn, user_id, hashes, now).await?;
        txn.commit().await.db_context("committing a regeneration")?;
        Ok(codes)
    }

    /// Removes the TOTP factor and the recovery codes (the caller checked the password).
    pub async fn remove(&self, user_id: &str) -> Result<(), Error> {
        let txn = crate::database::begin_write(&self.db)
            .await
            .db_context("starting a removal")?;
        store::remove_totp(&txn, user_id).await?;
        txn.commit().await.db_context("committing a removal")?;
        Ok(())
    }

    fn open(&self, sealed: &str) -> Result<TotpSecret, Error> {
        let bytes = self.keys.open_secret("a TOTP secret", sealed)?;
        TotpSecret::from_bytes(bytes)
            .ok_or_else(|| Error::Unexpected(anyhow::anyhow!("a stored TOTP secret is malformed")))
    }

    async fn totp_passes(&self, user_id: &str, sealed: &str, typed: &str) -> Result<bool, Error> {
        let secret = self.open(sealed)?;
        let Some(step) = secret.matching_step(typed, self.clock.now().secs()) else {
            return Ok(false);
        };
        Ok(replay::accept_step(self.store.as_ref(), user_id, step).await?)
    }

    /// Compares the code with each unused hash; the first that matches is used up, once.
    async fn use_recovery_code(&self, user_id: &str, code: &str) -> Result<bool, Error> {
        let code = SecretString::from(code.to_owned());
        for (id, hash) in store::unused_codes(&self.db, user_id).await? {
            if self.passwords.verify(&code, Some(&hash)).await? {
                return Ok(store::use_code(&self.db, id, self.clock.now()).await?);
            }
        }
        Ok(false)
    }

    /// A fresh set of codes to show and their hashes to store.
    async fn new_codes(&self) -> Result<(Vec<String>, Vec<String>), Error> {
        let codes = recovery::generate();
        let mut hashes = Vec::with_capacity(codes.len());
        for code in &codes {
            let normalised = recovery::normalise(code).unwrap_or_default();
            hashes.push(self.passwords.hash(&SecretString::from(normalised)).await?);
        }
        Ok((codes, hashes))
    }
}
