//! Prometheus metrics: one registry per server, passed to whatever records (no global
//! registry). Every family is registered, and every label set known at start-up created at
//! zero, before the server answers; recorders are typed, and a handle whose labels are fixed
//! is resolved once, so recording is an atomic add. Served on their own listener
//! (`metrics.listen`); see docs/observability.md for the list.

mod families;
mod labels;
mod sessions;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use prometheus::{Encoder, Histogram, IntCounter, IntGauge, TextEncoder};

use self::families::Families;
pub use self::labels::{ClientType, DbOp, Grant, LoginOutcome, MailFailure, StoreOp, method_label};
pub use self::sessions::ActiveSessions;

/// The handle every recorder holds; cheap to clone.
#[derive(Clone)]
pub struct Metrics(Arc<Families>);

impl Metrics {
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self(Arc::new(Families::register()?)))
    }

    /// One answered request: its route pattern (`unmatched` when no route matched), method
    /// label (see [`method_label`]) and status code.
    pub fn http_request(&self, route: &str, method: &str, status: &str, took: Duration) {
        let f = &self.0;
        f.http_requests
            .with_label_values(&[route, method, status])
            .inc();
        f.http_duration
            .with_label_values(&[route])
            .observe(took.as_secs_f64());
    }

    /// Creates the series of routes that dashboards and alerts name, at zero.
    pub fn declare_routes(&self, routes: &[(&str, &str, &str)]) {
        for (route, method, status) in routes {
            self.0
                .http_requests
                .with_label_values(&[route, method, status]);
            self.0.http_duration.with_label_values(&[route]);
        }
    }

    pub fn token_issued(&self, grant: Grant, client: ClientType) {
        self.0.tokens[grant as usize][client as usize].inc();
    }

    pub fn login(&self, outcome: LoginOutcome) {
        self.0.logins[outcome as usize].inc();
    }

    pub fn refresh_reuse_detected(&self) {
        self.0.refresh_reuse.inc();
    }

    pub fn code_replayed(&self) {
        self.0.code_replays.inc();
    }

    /// The rejection counters of these limits, created at zero.
    pub fn rate_limits(&self, names: &[&'static str]) -> RateLimitCounters {
        let counters = names
            .iter()
            .map(|name| (*name, self.0.rate_limited.with_label_values(&[name])))
            .collect();
        RateLimitCounters(Arc::new(counters))
    }

    /// The upstream sign-in counters of these providers and outcomes, created at zero.
    pub fn upstream_sign_ins(
        &self,
        providers: &[String],
        outcomes: &[&'static str],
    ) -> UpstreamSignIns {
        let family = &self.0.upstream_sign_ins;
        let counters = providers
            .iter()
            .flat_map(|p| outcomes.iter().map(move |o| (p.clone(), *o)))
            .map(|(p, o)| {
                let counter = family.with_label_values(&[p.as_str(), o]);
                ((p, o), counter)
            })
            .collect();
        UpstreamSignIns(Arc::new(counters))
    }

    /// The active-session estimate over sessions that live `ttl`.
    pub fn active_sessions(&self, ttl: Duration) -> ActiveSessions {
        ActiveSessions::new(ttl, self.0.sessions_active.clone())
    }

    pub fn argon2(&self) -> Argon2Metrics {
        Argon2Metrics {
            queued: self.0.argon2_queue.clone(),
            wait: self.0.argon2_wait.clone(),
            busy: self.0.argon2_busy.clone(),
        }
    }

    /// The handles of one store backend (`redis`, `sqlite`, `sql`), created at zero.
    pub fn store(&self, backend: &'static str) -> StoreMetrics {
        let f = &self.0;
        let labels = |op: StoreOp| [backend, op.as_str()];
        StoreMetrics(Arc::new(StoreHandles {
            duration: families::per_store_op(|op| f.store_duration.with_label_values(&labels(op))),
            errors: families::per_store_op(|op| f.store_errors.with_label_values(&labels(op))),
        }))
    }

    /// The handles of one database backend (`postgres`, `sqlite`), created at zero.
    pub fn database(&self, backend: &'static str) -> DatabaseMetrics {
        let f = &self.0;
        let labels = |op: DbOp| [backend, op.as_str()];
        DatabaseMetrics(Arc::new(DatabaseHandles {
            duration: families::per_db_op(|op| f.db_duration.with_label_values(&labels(op))),
            errors: families::per_db_op(|op| f.db_errors.with_label_values(&labels(op))),
        }))
    }

    pub fn mail_sent(&self) {
        self.0.mail_sent.inc();
    }

    pub fn mail_failed(&self, what: MailFailure) {
        self.0.mail_failures[what as usize].inc();
    }

    /// The outbox as last looked at: messages waiting and given up, and the oldest wait.
    pub fn outbox(&self, pending: i64, given_up: i64, oldest_pending: Duration) {
        let f = &self.0;
        f.outbox_messages
            .with_label_values(&["pending"])
            .set(pending);
        f.outbox_messages
            .with_label_values(&["given_up"])
            .set(given_up);
        f.outbox_oldest_age
            .set(i64::try_from(oldest_pending.as_secs()).unwrap_or(i64::MAX));
    }

    /// How old the key that signs with `alg` is.
    pub fn signing_key_age(&self, alg: &str, age: Duration) {
        let secs = i64::try_from(age.as_secs()).unwrap_or(i64::MAX);
        self.0.key_age.with_label_values(&[alg]).set(secs);
    }

    /// The configured rotation period; zero when rotation is manual.
    pub fn signing_key_rotation_period(&self, period: Duration) {
        let secs = i64::try_from(period.as_secs()).unwrap_or(i64::MAX);
        self.0.key_rotation_period.set(secs);
    }

    /// The text exposition format (version 0.0.4) of every family.
    pub fn encode(&self) -> anyhow::Result<String> {
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.0.registry.gather(), &mut buffer)?;
        Ok(String::from_utf8(buffer)?)
    }
}

/// The content type of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Rejection counters by limit name, resolved once.
#[derive(Clone)]
pub struct RateLimitCounters(Arc<Vec<(&'static str, IntCounter)>>);

impl RateLimitCounters {
    /// Counts a refusal by the limit named `name`; names not declared are not counted.
    pub fn rejected(&self, name: &str) {
        if let Some((_, counter)) = self.0.iter().find(|(n, _)| *n == name) {
            counter.inc();
        }
    }
}

/// Round trips to upstream providers, by provider and outcome; every pair of a configured
/// provider and a known outcome is created at zero, and nothing else is ever counted (a
/// callback can name any provider id).
#[derive(Clone, Default)]
pub struct UpstreamSignIns(Arc<Vec<((String, &'static str), IntCounter)>>);

impl UpstreamSignIns {
    pub fn record(&self, provider: &str, outcome: &str) {
        let found = self
            .0
            .iter()
            .find(|((p, o), _)| p == provider && *o == outcome);
        if let Some((_, counter)) = found {
            counter.inc();
        }
    }
}

/// The password hashing pool's queue.
#[derive(Clone)]
pub struct Argon2Metrics {
    queued: IntGauge,
    wait: Histogram,
    busy: IntCounter,
}

impl Argon2Metrics {
    /// A hash was queued for a thread.
    pub fn queued(&self) {
        self.queued.inc();
    }

    /// A queued hash started, after waiting this long.
    pub fn started(&self, waited: Duration) {
        self.queued.dec();
        self.wait.observe(waited.as_secs_f64());
    }

    /// A hash was refused: pool and queue full.
    pub fn refused(&self) {
        self.busy.inc();
    }
}

struct StoreHandles {
    duration: [Histogram; 17],
    errors: [IntCounter; 17],
}

/// One store backend's latency and error handles, by operation.
#[derive(Clone)]
pub struct StoreMetrics(Arc<StoreHandles>);

impl StoreMetrics {
    pub fn observe(&self, op: StoreOp, took: Duration, ok: bool) {
        self.0.duration[op as usize].observe(took.as_secs_f64());
        if !ok {
            self.0.errors[op as usize].inc();
        }
    }
}

struct DatabaseHandles {
    duration: [Histogram; 5],
    errors: [IntCounter; 5],
}

/// One database backend's latency and error handles, by statement kind.
#[derive(Clone)]
pub struct DatabaseMetrics(Arc<DatabaseHandles>);

impl DatabaseMetrics {
    pub fn observe(&self, op: DbOp, took: Duration, failed: bool) {
        self.0.duration[op as usize].observe(took.as_secs_f64());
        if failed {
            self.0.errors[op as usize].inc();
        }
    }
}

/// Work that brings gauges up to date before a scrape (the outbox, key ages, sessions).
pub type Sampler = Box<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// How long one sampler may take: a database that does not answer leaves its gauges as
/// they were instead of holding the scrape.
const SAMPLE_DEADLINE: Duration = Duration::from_secs(2);

/// What the metrics listener serves: the registry, brought up to date by the samplers.
pub struct Exposition {
    pub metrics: Metrics,
    pub samplers: Vec<Sampler>,
}

impl Exposition {
    pub async fn render(&self) -> anyhow::Result<String> {
        for sample in &self.samplers {
            if tokio::time::timeout(SAMPLE_DEADLINE, sample())
                .await
                .is_err()
            {
                tracing::debug!("a metrics sampler timed out; its gauges keep their last values");
            }
        }
        self.metrics.encode()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_exported_from_the_start() {
        let metrics = Metrics::new().unwrap();
        metrics.store("redis");
        metrics.database("postgres");
        metrics.rate_limits(&["login"]);
        let text = metrics.encode().unwrap();
        for needle in [
            "gatehouse_build_info{version=",
            r#"gatehouse_tokens_issued_total{client_type="public",grant_type="refresh_token"} 0"#,
            r#"gatehouse_logins_total{outcome="second_factor_failed"} 0"#,
            r#"gatehouse_rate_limit_rejections_total{limit="login"} 0"#,
            r#"gatehouse_store_errors_total{backend="redis",operation="take"} 0"#,
            r#"gatehouse_database_errors_total{backend="postgres",operation="select"} 0"#,
            r#"gatehouse_mail_outbox_messages{state="pending"} 0"#,
            "gatehouse_argon2_queue_wait_seconds_bucket{le=\"+Inf\"} 0",
            "gatehouse_sessions_active 0",
        ] {
            assert!(text.contains(needle), "{needle} missing from\n{text}");
        }
    }

    #[test]
    fn recorders_move_their_series() {
        let metrics = Metrics::new().unwrap();
        metrics.token_issued(Grant::ClientCredentials, ClientType::Confidential);
        metrics.rate_limits(&["login"]).rejected("login");
        metrics.http_request("/token", "POST", "200", Duration::from_millis(3));
        let text = metrics.encode().unwrap();
        assert!(text.contains(
            r#"gatehouse_tokens_issued_total{client_type="confidential",grant_type="client_credentials"} 1"#
        ));
        assert!(text.contains(r#"gatehouse_rate_limit_rejections_total{limit="login"} 1"#));
        assert!(text.contains(
            r#"gatehouse_http_request_duration_seconds_bucket{route="/token",le="0.005"} 1"#
        ));
    }
}
