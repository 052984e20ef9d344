//! What the driver saw: every response by traffic kind and status class, latencies of the
//! honest requests by step, and named events (flow outcomes, what the attacker was told).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// Who sent a request. The gate treats the kinds differently (see `report`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// The browser side and token calls of honest code flows.
    Flow,
    /// The confidential client's client_credentials grants.
    ClientCredentials,
    Attacker,
    Flood,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Flow,
        Kind::ClientCredentials,
        Kind::Attacker,
        Kind::Flood,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Flow => "honest flows",
            Kind::ClientCredentials => "client_credentials",
            Kind::Attacker => "attacker",
            Kind::Flood => "malformed flood",
        }
    }

    pub fn is_honest(self) -> bool {
        matches!(self, Kind::Flow | Kind::ClientCredentials)
    }
}

/// Responses of one kind: `classes[0]` counts requests that got no HTTP answer (a transport
/// error, a timeout, a connection closed before a status line), `classes[n]` the n-xx ones.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub classes: [u64; 6],
    /// 503 answers that carried Retry-After (a backend or the password hasher is busy).
    pub busy_503: u64,
    /// 5xx answers by exact status, for the report.
    pub server_errors: BTreeMap<u16, u64>,
}

impl Tally {
    pub fn five_xx(&self) -> u64 {
        self.classes[5]
    }
}

/// What one request ended with.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    Status { code: u16, retry_after: bool },
    NoAnswer,
}

#[derive(Default)]
struct Inner {
    tallies: BTreeMap<Kind, Tally>,
    /// Latencies of honest requests, by step (`authorize`, `login_post`, `token_code`…).
    steps: BTreeMap<&'static str, Vec<Duration>>,
    events: BTreeMap<String, u64>,
}

#[derive(Default)]
pub struct Stats(Mutex<Inner>);

impl Stats {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        // A panic while holding the lock would end the run anyway; keep counting.
        let mut inner = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut inner)
    }

    /// Counts one answer; honest kinds also keep its latency under `step`.
    pub fn record(&self, kind: Kind, step: &'static str, answer: Answer, took: Duration) {
        self.with(|inner| {
            let tally = inner.tallies.entry(kind).or_default();
            match answer {
                Answer::NoAnswer => tally.classes[0] += 1,
                Answer::Status { code, retry_after } => {
                    let class = usize::from(code / 100).clamp(1, 5);
                    tally.classes[class] += 1;
                    if class == 5 {
                        *tally.server_errors.entry(code).or_default() += 1;
                    }
                    if code == 503 && retry_after {
                        tally.busy_503 += 1;
                    }
                }
            }
            if kind.is_honest() {
                inner.steps.entry(step).or_default().push(took);
            }
        });
    }

    pub fn event(&self, name: impl Into<String>) {
        self.add(name, 1);
    }

    pub fn add(&self, name: impl Into<String>, n: u64) {
        self.with(|inner| *inner.events.entry(name.into()).or_default() += n);
    }

    pub fn count(&self, name: &str) -> u64 {
        self.with(|inner| inner.events.get(name).copied().unwrap_or(0))
    }

    /// Events whose name starts with `prefix`, with the prefix removed.
    pub fn events_under(&self, prefix: &str) -> Vec<(String, u64)> {
        self.with(|inner| {
            inner
                .events
                .iter()
                .filter_map(|(name, n)| Some((name.strip_prefix(prefix)?.to_owned(), *n)))
                .collect()
        })
    }

    pub fn tally(&self, kind: Kind) -> Tally {
        self.with(|inner| inner.tallies.get(&kind).cloned().unwrap_or_default())
    }

    /// (step, count, p50, p99) for every honest step, and for all of them together.
    pub fn latencies(&self) -> Vec<(String, usize, Duration, Duration)> {
        self.with(|inner| {
            let mut all = Vec::new();
            let mut rows = Vec::new();
            for (step, samples) in &inner.steps {
                let mut sorted = samples.clone();
                all.extend_from_slice(samples);
                sorted.sort_unstable();
                rows.push(row(step, &sorted));
            }
            all.sort_unstable();
            rows.push(row("all honest requests", &all));
            rows
        })
    }
}

fn row(name: &str, sorted: &[Duration]) -> (String, usize, Duration, Duration) {
    (
        name.to_owned(),
        sorted.len(),
        percentile(sorted, 50),
        percentile(sorted, 99),
    )
}

/// The nearest-rank percentile of sorted samples (zero when there are none).
pub fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted[rank.min(sorted.len()) - 1]
}
