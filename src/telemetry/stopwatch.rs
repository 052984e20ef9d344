//! Latency for the metrics' histograms. A monotonic clock read here and nowhere else: how
//! long something took decides nothing, so it is no business of `clock::Clock`, whose
//! settable time the tests move.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct Stopwatch(Instant);

impl Stopwatch {
    pub fn start() -> Self {
        Self(Instant::now())
    }

    pub fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}
