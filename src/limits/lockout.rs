//! Per-account lockout (OWASP ASVS V2.2.1): after `failures` failed sign-ins for one account
//! within `window`, the account refuses every password — the right one too — for a delay
//! that doubles with each further lock, up to a cap. The delay is never permanent, so an
//! attacker cannot lock an owner out for good, and it stops only password sign-ins: the
//! owner's signed-in sessions go on. Accounts are named by a digest of the email as typed
//! (normalised), so an unknown email locks exactly like a known one and nothing tells them
//! apart.
//!
//! A browser that has signed in to the account before carries a device token for it (OWASP's
//! "device cookies"): its failures count, and lock, on their own, so an attacker elsewhere
//! who locks the account does not lock its owner's browsers out.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::window::{Verdict, Window};
use super::{Limiter, Rule};
use crate::clock::{SharedClock, UnixTime};
use crate::random;
use crate::settings::LockoutSettings;
use crate::store::{Store, StoreResult};

/// How long a lock's level is remembered: a second lock within a day lasts twice as long.
const LEVEL_MEMORY: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Clone)]
pub struct Lockout {
    limiter: Limiter,
    store: Store,
    clock: SharedClock,
    failures: Rule,
    enabled: bool,
    delay: Duration,
    max_delay: Duration,
    /// Keys device tokens (HMAC-SHA-256): only we can make one for an account.
    device_key: [u8; 32],
}

/// The account's current lock: until when, and how many locks in a row it has had.
#[derive(Debug, Serialize, Deserialize)]
struct Lock {
    until: UnixTime,
    level: u32,
}

/// The lock that a failure started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locked {
    pub delay: Duration,
    pub level: u32,
}

/// The subject under which an account's failures are counted.
pub fn account_of(normalised_email: &str) -> String {
    random::digest(normalised_email)
}

fn key(account: &str) -> String {
    format!("lock:{account}")
}

impl Lockout {
    pub fn new(
        (limiter, store, clock): (Limiter, Store, SharedClock),
        s: &LockoutSettings,
        device_key: [u8; 32],
    ) -> Self {
        let failures = Rule {
            name: "account-fail",
            // The `failures`-th failure is the one over the limit.
            window: Window {
                limit: s.failures.saturating_sub(1),
                period: Duration::from_secs(s.window_secs.max(1)),
            },
        };
        Self {
            limiter,
            store,
            clock,
            failures,
            enabled: s.failures > 0,
            delay: Duration::from_secs(s.delay_secs.max(1)),
            max_delay: Duration::from_secs(s.max_delay_secs.max(s.delay_secs).max(1)),
            device_key,
        }
    }

    /// What failures of this attempt count against: the account, or for a browser whose
    /// device token is one we made for this account, that browser's own share of it.
    pub fn subject(&self, account: &str, device_token: Option<&str>) -> String {
        let known = device_token.and_then(|token| {
            let (nonce, _) = token.split_once('.')?;
            let expected = self.device_token_with(account, nonce);
            bool::from(expected.as_bytes().ct_eq(token.as_bytes())).then_some(nonce)
        });
        match known {
            Some(nonce) => format!("{account}.{nonce}"),
            None => account.to_owned(),
        }
    }

    /// A new device token for a browser that just signed in to `account`.
    pub fn device_token(&self, account: &str) -> String {
        self.device_token_with(account, &random::token())
    }

    fn device_token_with(&self, account: &str, nonce: &str) -> String {
        use base64::Engine;
        use hmac::Mac;
        // HMAC takes a key of any length, so this never fails.
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.device_key)
            .unwrap_or_else(|_| unreachable!());
        mac.update(b"known-device:");
        mac.update(account.as_bytes());
        mac.update(b":");
        mac.update(nonce.as_bytes());
        let tag =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{nonce}.{tag}")
    }

    /// Whether `account` refuses passwords now.
    pub async fn is_locked(&self, account: &str) -> StoreResult<bool> {
        Ok(self
            .lock(account)
            .await?
            .is_some_and(|lock| lock.until > self.clock.now()))
    }

    /// Counts a failed sign-in for an unlocked `account`; the lock it starts, if it is the
    /// one too many.
    pub async fn failed(&self, account: &str) -> StoreResult<Option<Locked>> {
        if !self.enabled {
            return Ok(None);
        }
        let verdict = self.limiter.tally(&self.failures, account, true).await?;
        if verdict == Verdict::Allowed {
            return Ok(None);
        }
        let level = self.lock(account).await?.map_or(0, |l| l.level) + 1;
        let doubling = 2u32.saturating_pow(level.saturating_sub(1).min(20));
        let delay = self.delay.saturating_mul(doubling).min(self.max_delay);
        let lock = Lock {
            until: self.clock.now().plus(delay),
            level,
        };
        let value = serde_json::to_vec(&lock).map_err(|e| anyhow::anyhow!(e))?;
        self.store.put(&key(account), &value, LEVEL_MEMORY).await?;
        Ok(Some(Locked { delay, level }))
    }

    /// A successful sign-in forgets the account's locks.
    pub async fn succeeded(&self, account: &str) -> StoreResult<()> {
        self.store.delete(&key(account)).await
    }

    async fn lock(&self, account: &str) -> StoreResult<Option<Lock>> {
        let raw = self.store.get(&key(account)).await?;
        // An unreadable record (a format of another version) counts as no lock.
        Ok(raw.and_then(|raw| serde_json::from_slice(&raw).ok()))
    }
}
