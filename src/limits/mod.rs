//! Abuse resistance: rate limits shared by every instance through the ephemeral store
//! ([`Limiter`], [`Throttle`]) and per-account lockout after failed sign-ins ([`lockout`]).
//!
//! The window arithmetic is ours ([`window`], ten lines and property-tested): `governor`'s
//! GCRA keeps its state in-process behind a synchronous compare-and-swap, and the counters
//! here must live in Redis so that two instances count one attacker once.

pub mod lockout;
mod throttle;
pub mod window;

use std::sync::Arc;
use std::time::Duration;

use quick_cache::sync::Cache;

pub use self::lockout::Lockout;
pub use self::throttle::Throttle;
use self::window::{Counts, Verdict, Window};
use crate::clock::{SharedClock, UnixTime};
use crate::store::{Store, StoreError};

/// Why a request may not go on.
#[derive(Debug, thiserror::Error)]
pub enum Limited {
    /// Over a limit: try again after this long (HTTP 429, RFC 6585 §4, with `Retry-After`).
    #[error("too many requests ({rule}); retry after {} s", retry_after.as_secs())]
    Over {
        rule: &'static str,
        retry_after: Duration,
        /// This request went over (the store said so); later ones are refused from memory.
        tripped: bool,
    },
    #[error(transparent)]
    Unavailable(#[from] StoreError),
}

/// A named limit: "`limit` per `period`" for each subject (an address, an account, a client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub name: &'static str,
    pub window: Window,
}

impl Rule {
    /// A limit of 0 means "no limit".
    pub fn is_off(&self) -> bool {
        self.window.limit == 0
    }
}

/// How many refusals each instance remembers, so that a subject it has just refused is
/// refused again without a store round trip. Bounded: subjects are attacker-chosen.
const REMEMBERED: usize = 10_000;

/// Counts hits in the store and judges them against a [`Rule`].
#[derive(Clone)]
pub struct Limiter {
    store: Store,
    clock: SharedClock,
    refused: Arc<Cache<String, UnixTime>>,
}

impl Limiter {
    pub fn new(store: Store, clock: SharedClock) -> Self {
        Self {
            store,
            clock,
            refused: Arc::new(Cache::new(REMEMBERED)),
        }
    }

    /// Counts one hit for `subject` and judges it.
    pub async fn hit(&self, rule: &Rule, subject: &str) -> Result<(), Limited> {
        self.judge(rule, subject, true).await
    }

    /// Judges `subject` without counting: a failure budget is checked before the work and
    /// spent ([`hit`](Self::hit)) only when the work fails.
    pub async fn check(&self, rule: &Rule, subject: &str) -> Result<(), Limited> {
        self.judge(rule, subject, false).await
    }

    /// Only what this instance remembers refusing: no store round trip, for paths that
    /// must not pay one per request (the token endpoint's success path).
    pub fn check_remembered(&self, rule: &Rule, subject: &str) -> Result<(), Limited> {
        // The common case, and then not even the lookup key is built.
        if rule.is_off() || self.refused.is_empty() {
            return Ok(());
        }
        self.remembered(&memo_key(rule, subject), self.clock.now())
            .map_or(Ok(()), |retry_after| Err(over(rule, retry_after, false)))
    }

    async fn judge(&self, rule: &Rule, subject: &str, count: bool) -> Result<(), Limited> {
        if rule.is_off() {
            return Ok(());
        }
        let now = self.clock.now();
        let memo = memo_key(rule, subject);
        if let Some(retry_after) = self.remembered(&memo, now) {
            return Err(over(rule, retry_after, false));
        }
        match self.tally(rule, subject, count).await? {
            Verdict::Allowed => Ok(()),
            Verdict::Refused { retry_after } => {
                self.refused.insert(memo, now.plus(retry_after));
                Err(over(rule, retry_after, true))
            }
        }
    }

    /// The store's counts for `subject` (with this hit when `count`, else with one more
    /// hit supposed), judged now. Nothing is remembered.
    pub async fn tally(
        &self,
        rule: &Rule,
        subject: &str,
        count: bool,
    ) -> Result<Verdict, StoreError> {
        let at = u64::try_from(self.clock.now().millis()).unwrap_or(0);
        let index = rule.window.index(at);
        // One hash tag for both windows' keys: one Redis Cluster slot.
        let key = |i: u64| format!("rl:{{{}:{subject}}}:{i}", rule.name);
        let (current, previous) = self
            .store
            .window(
                &key(index),
                &key(index.saturating_sub(1)),
                2 * rule.window.period,
                count,
            )
            .await?;
        let counts = Counts {
            current: u64::try_from(current).unwrap_or(0) + u64::from(!count),
            previous: u64::try_from(previous).unwrap_or(0),
        };
        Ok(rule.window.judge(counts, at))
    }

    /// How long a remembered refusal has left, if it has not run out.
    fn remembered(&self, memo: &str, now: UnixTime) -> Option<Duration> {
        let until = self.refused.get(memo)?;
        let left = until.millis() - now.millis();
        (left > 0).then(|| Duration::from_millis(left as u64).max(Duration::from_secs(1)))
    }
}

fn memo_key(rule: &Rule, subject: &str) -> String {
    format!("{}:{subject}", rule.name)
}

fn over(rule: &Rule, retry_after: Duration, tripped: bool) -> Limited {
    Limited::Over {
        rule: rule.name,
        retry_after: Duration::from_secs(retry_after.as_secs_f64().ceil() as u64),
        tripped,
    }
}
