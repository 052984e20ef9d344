//! Per-account lockout (OWASP ASVS V2.2.1): after `failures` failed sign-ins for one account
//! within `window`, the account refuses every password — the right one too — for a delay
//! that doubles with each further lock, up to a cap. The delay is never permanent, so an
//! attacker cannot lock an owner out for good, and it stops only password sign-ins: the
//! owner's signed-in sessions go on. Accounts are named by a digest of the email as typed
//! (normalised), so an unknown email locks exactly like a known one and nothing tells them
//! apart.

use std::time::Duration;

use serde::{Deserialize, Serialize};

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
    pub fn new(limiter: Limiter, store: Store, clock: SharedClock, s: &LockoutSettings) -> Self {
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
        }
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
