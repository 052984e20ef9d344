//! The sliding-window estimate behind every rate limit: two fixed windows (the current one
//! and the one before), the earlier weighted by how much of it the sliding window still
//! covers. Two counters per subject, one store round trip per check, and no burst of twice
//! the limit at a window boundary (which a fixed window allows).

use std::time::Duration;

/// "`limit` per `period`".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub limit: u32,
    pub period: Duration,
}

/// The two fixed windows' counts, the current one including the hit being judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub current: u64,
    pub previous: u64,
}

/// A judgement: allowed, or refused until `retry_after` has passed (with no more hits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    Refused { retry_after: Duration },
}

impl Window {
    fn period_ms(&self) -> u64 {
        u64::try_from(self.period.as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// The fixed window `now_ms` falls in; its counter lives for two periods.
    pub fn index(&self, now_ms: u64) -> u64 {
        now_ms / self.period_ms()
    }

    /// Whether `counts` at `now_ms` are within the limit: the previous window's count
    /// weighted by the share of it still inside the sliding window, plus the current
    /// window's, at most `limit`. Exact integer arithmetic.
    pub fn judge(&self, counts: Counts, now_ms: u64) -> Verdict {
        let period = u128::from(self.period_ms());
        let elapsed = u128::from(now_ms) % period;
        let weighted =
            u128::from(counts.previous) * (period - elapsed) + u128::from(counts.current) * period;
        if weighted <= u128::from(self.limit) * period {
            return Verdict::Allowed;
        }
        Verdict::Refused {
            retry_after: self.retry_after(counts, elapsed),
        }
    }

    /// How long until one more hit would be allowed, if nothing else is counted meanwhile;
    /// rounded up to whole seconds, since `Retry-After` carries seconds (RFC 9110 §10.2.3).
    fn retry_after(&self, counts: Counts, elapsed: u128) -> Duration {
        let period = u128::from(self.period_ms());
        let room = u128::from(self.limit.saturating_sub(1));
        let (current, previous) = (u128::from(counts.current), u128::from(counts.previous));
        let wait_ms = if current <= room {
            // Within this window, once enough of the previous one has slid out:
            // previous · (period − elapsed − w) ≤ (room − current) · period.
            let left =
                (period - elapsed).saturating_sub((room - current) * period / previous.max(1));
            left + 1
        } else {
            // In the next window, once enough of this one has slid out:
            // current · (period − s) ≤ room · period.
            let into_next = period.saturating_sub(room * period / current) + 1;
            (period - elapsed) + into_next.min(period)
        };
        let secs = wait_ms.div_ceil(1000).max(1);
        Duration::from_secs(u64::try_from(secs).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn window(limit: u32, secs: u64) -> Window {
        Window {
            limit,
            period: Duration::from_secs(secs),
        }
    }

    /// The counts `by` later with no new hits: windows slide, counts move back.
    fn later(w: &Window, counts: Counts, now_ms: u64, by: Duration) -> (Counts, u64) {
        let then = now_ms + by.as_millis() as u64;
        let counts = match w.index(then) - w.index(now_ms) {
            0 => counts,
            1 => Counts {
                current: 0,
                previous: counts.current,
            },
            _ => Counts {
                current: 0,
                previous: 0,
            },
        };
        (counts, then)
    }

    fn with_one_more(counts: Counts) -> Counts {
        Counts {
            current: counts.current + 1,
            ..counts
        }
    }

    #[test]
    fn a_fresh_subject_is_allowed_up_to_the_limit() {
        let w = window(3, 60);
        for n in 1..=3 {
            let counts = Counts {
                current: n,
                previous: 0,
            };
            assert_eq!(w.judge(counts, 10_000), Verdict::Allowed);
        }
        let over = Counts {
            current: 4,
            previous: 0,
        };
        assert!(matches!(w.judge(over, 10_000), Verdict::Refused { .. }));
    }

    #[test]
    fn the_previous_window_counts_by_its_overlap() {
        let w = window(10, 60);
        let counts = Counts {
            current: 5,
            previous: 10,
        };
        // A quarter into this window, three quarters of the last one still count: 7.5 + 5.
        assert!(matches!(w.judge(counts, 15_000), Verdict::Refused { .. }));
        // Nine tenths in: 1 + 5.
        assert_eq!(w.judge(counts, 54_000), Verdict::Allowed);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn allowed_exactly_when_the_estimate_is_within_the_limit(
            limit in 1u32..1000, secs in 1u64..3600, current in 0u64..2000,
            previous in 0u64..2000, now_ms in 0u64..10_000_000_000,
        ) {
            let w = window(limit, secs);
            let period = secs as f64 * 1000.0;
            let overlap = 1.0 - (now_ms % (secs * 1000)) as f64 / period;
            let estimate = previous as f64 * overlap + current as f64;
            let counts = Counts { current, previous };
            let allowed = w.judge(counts, now_ms) == Verdict::Allowed;
            // Away from the boundary, where float rounding could disagree.
            prop_assume!((estimate - f64::from(limit)).abs() > 1e-6);
            prop_assert_eq!(allowed, estimate <= f64::from(limit));
        }

        #[test]
        fn after_retry_after_one_more_hit_is_allowed(
            limit in 1u32..500, secs in 1u64..3600, current in 0u64..1500,
            previous in 0u64..1500, now_ms in 0u64..10_000_000_000,
        ) {
            let w = window(limit, secs);
            let counts = Counts { current, previous };
            if let Verdict::Refused { retry_after } = w.judge(counts, now_ms) {
                prop_assert!(retry_after >= Duration::from_secs(1));
                prop_assert!(retry_after <= 2 * w.period + Duration::from_secs(1));
                let (then, at) = later(&w, counts, now_ms, retry_after);
                prop_assert_eq!(w.judge(with_one_more(then), at), Verdict::Allowed);
            }
        }

        #[test]
        fn more_hits_never_turn_a_refusal_into_an_allowance(
            limit in 1u32..500, secs in 1u64..600, current in 0u64..1000,
            previous in 0u64..1000, extra in 0u64..100, now_ms in 0u64..10_000_000_000,
        ) {
            let w = window(limit, secs);
            let fewer = w.judge(Counts { current, previous }, now_ms);
            let more = w.judge(Counts { current: current + extra, previous }, now_ms);
            let refused = |v: Verdict| v != Verdict::Allowed;
            if refused(fewer) {
                prop_assert!(refused(more));
            }
        }
    }
}
