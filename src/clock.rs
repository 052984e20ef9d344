//! The one source of "now": system time in production, a settable clock in tests, so an
//! expiry can be reached by moving the clock instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A point in time as Unix milliseconds. Protocol values (JWT `exp`/`iat`, `auth_time`) are
/// whole seconds ([`secs`](Self::secs)); rotation windows are measured in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UnixTime(i64);

impl UnixTime {
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    pub const fn from_secs(secs: i64) -> Self {
        Self(secs.saturating_mul(1000))
    }

    pub const fn millis(self) -> i64 {
        self.0
    }

    /// Whole seconds since the epoch (what JWT NumericDate values carry, RFC 7519 §2).
    pub const fn secs(self) -> i64 {
        self.0.div_euclid(1000)
    }

    pub fn plus(self, duration: Duration) -> Self {
        let millis = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        Self(self.0.saturating_add(millis))
    }

    /// As a chrono time, for database columns.
    pub fn to_datetime(self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp_millis(self.0).unwrap_or_default()
    }

    /// The time from `earlier` to `self`, zero when `earlier` is later.
    pub fn since(self, earlier: Self) -> Duration {
        Duration::from_millis(u64::try_from(self.0 - earlier.0).unwrap_or(0))
    }
}

/// Anything that reads the time takes one of these.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> UnixTime;
}

/// The handle passed around.
pub type SharedClock = Arc<dyn Clock>;

/// The system's wall clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        UnixTime(i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
    }
}

pub fn system() -> SharedClock {
    Arc::new(SystemClock)
}

/// System time plus an offset that tests move forward: time still passes as usual, and an
/// expiry hours away is reached at once with [`advance`](Self::advance).
#[derive(Default)]
pub struct TestClock {
    offset_ms: AtomicI64,
}

impl TestClock {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn advance(&self, by: Duration) {
        let millis = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms.fetch_add(millis, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> UnixTime {
        UnixTime(SystemClock.now().0 + self.offset_ms.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_round_down_and_durations_add() {
        let t = UnixTime::from_millis(1_999);
        assert_eq!(t.secs(), 1);
        assert_eq!(t.plus(Duration::from_millis(1)).secs(), 2);
        assert_eq!(UnixTime::from_secs(3).millis(), 3_000);
        assert_eq!(
            UnixTime::from_secs(3).since(t),
            Duration::from_millis(1_001)
        );
        assert_eq!(t.since(UnixTime::from_secs(3)), Duration::ZERO);
    }

    #[test]
    fn the_test_clock_moves_only_forward_when_told() {
        let clock = TestClock::new();
        let before = clock.now();
        clock.advance(Duration::from_secs(3600));
        assert!(clock.now().since(before) >= Duration::from_secs(3600));
    }
}
