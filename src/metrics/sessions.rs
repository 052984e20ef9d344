//! An estimate of live browser sessions without asking the store (counting Redis keys
//! would mean a SCAN of the keyspace): each instance counts the sessions it started in
//! time slots covering one session lifetime, and takes back one it ended from its start's
//! slot. A session lives exactly `sessions.ttl_secs` from its sign-in, so the slots of the
//! last lifetime hold the sessions still alive. Approximate: a slot's width (1/62 of the
//! lifetime) blurs the edge, a session ended at another instance than the one that started
//! it is taken back there (the sum over instances is still right), and a restarted instance
//! forgets the sessions it had started.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::IntGauge;

const SLOTS: usize = 64;

#[derive(Clone)]
pub struct ActiveSessions(Arc<Ring>);

struct Ring {
    slot_secs: i64,
    lifetime_secs: i64,
    gauge: IntGauge,
    /// `(slot number, sessions started in it and not ended)`, by slot number modulo SLOTS.
    slots: Mutex<[(i64, i64); SLOTS]>,
}

impl ActiveSessions {
    pub(super) fn new(lifetime: Duration, gauge: IntGauge) -> Self {
        let lifetime_secs = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX).max(1);
        // Two slots to spare: the one being filled and the one sliding out of the lifetime.
        let slot_secs = (lifetime_secs + SLOTS as i64 - 3) / (SLOTS as i64 - 2);
        Self(Arc::new(Ring {
            slot_secs: slot_secs.max(1),
            lifetime_secs,
            gauge,
            slots: Mutex::new([(i64::MIN, 0); SLOTS]),
        }))
    }

    /// A session started at `at` (Unix seconds).
    pub fn started(&self, at: i64) {
        self.add(at, 1);
    }

    /// The session that started at `started_at` ended before its time.
    pub fn ended(&self, started_at: i64) {
        self.add(started_at, -1);
    }

    fn add(&self, at: i64, delta: i64) {
        let ring = &self.0;
        let number = at.div_euclid(ring.slot_secs);
        let index = number.rem_euclid(SLOTS as i64) as usize;
        let mut slots = ring.slots.lock().unwrap_or_else(|e| e.into_inner());
        let slot = &mut slots[index];
        if slot.0 != number {
            // An older slot's sessions have all expired; an end whose slot is gone (or a
            // start from before the slot's current use) has nothing to correct.
            if delta < 0 || number < slot.0 {
                return;
            }
            *slot = (number, 0);
        }
        slot.1 += delta;
    }

    /// Sets the gauge to the sessions started within one lifetime before `now`.
    pub fn report(&self, now: i64) {
        let ring = &self.0;
        let oldest = (now - ring.lifetime_secs).div_euclid(ring.slot_secs);
        let newest = now.div_euclid(ring.slot_secs);
        let slots = ring.slots.lock().unwrap_or_else(|e| e.into_inner());
        let live: i64 = slots
            .iter()
            .filter(|(number, _)| (oldest..=newest).contains(number))
            .map(|(_, count)| count)
            .sum();
        drop(slots);
        ring.gauge.set(live.max(0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(lifetime_secs: u64) -> (ActiveSessions, IntGauge) {
        let gauge = IntGauge::new("sessions", "test").unwrap();
        let sessions = ActiveSessions::new(Duration::from_secs(lifetime_secs), gauge.clone());
        (sessions, gauge)
    }

    #[test]
    fn sessions_count_while_they_live_and_not_after_they_end() {
        let (sessions, gauge) = ring(86_400);
        let t = 1_700_000_000;
        sessions.started(t);
        sessions.started(t + 10);
        sessions.started(t + 3_600);
        sessions.report(t + 3_600);
        assert_eq!(gauge.get(), 3);
        sessions.ended(t + 10);
        sessions.report(t + 3_601);
        assert_eq!(gauge.get(), 2);
        // A day later the first two have expired; the third lives on, give or take a slot.
        sessions.report(t + 86_400 + 3_000);
        assert_eq!(gauge.get(), 1);
        sessions.report(t + 2 * 86_400);
        assert_eq!(gauge.get(), 0);
    }

    #[test]
    fn reused_slots_forget_what_they_held() {
        let (sessions, gauge) = ring(64);
        sessions.started(1_000);
        // Long after: the same slot index, a later slot number.
        sessions.started(1_000 + 64 * 10);
        sessions.ended(1_000);
        sessions.report(1_000 + 64 * 10);
        assert_eq!(gauge.get(), 1);
    }
}
