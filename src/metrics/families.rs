//! Every metric family, registered once, with each label set that is known at start-up
//! created at zero so that a dashboard or an alert never queries a missing series.

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};

use super::labels::{ClientType, DbOp, Grant, LoginOutcome, MailFailure, StoreOp};

/// Request latencies: a sub-millisecond JWKS answer to a slow sign-in page.
pub(super) const HTTP_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Store and database round trips: a tenth of a millisecond to the store's timeout.
pub(super) const BACKEND_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];
/// Waits for a hashing thread: none at all to a login storm's seconds.
pub(super) const QUEUE_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

pub(super) struct Families {
    pub registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub tokens: [[IntCounter; 2]; 3],
    pub logins: [IntCounter; 4],
    pub refresh_reuse: IntCounter,
    pub code_replays: IntCounter,
    pub rate_limited: IntCounterVec,
    pub upstream_sign_ins: IntCounterVec,
    pub sessions_active: IntGauge,
    pub argon2_queue: IntGauge,
    pub argon2_wait: Histogram,
    pub argon2_busy: IntCounter,
    pub store_duration: HistogramVec,
    pub store_errors: IntCounterVec,
    pub db_duration: HistogramVec,
    pub db_errors: IntCounterVec,
    pub mail_sent: IntCounter,
    pub mail_failures: [IntCounter; 2],
    pub outbox_messages: IntGaugeVec,
    pub outbox_oldest_age: IntGauge,
    pub key_age: IntGaugeVec,
    pub key_rotation_period: IntGauge,
}

/// Registers families on one registry; every name gets the registry's `gatehouse_` prefix.
struct Registrar<'a>(&'a Registry);

impl Registrar<'_> {
    fn counter(&self, name: &str, help: &str) -> prometheus::Result<IntCounter> {
        let counter = IntCounter::new(name, help)?;
        self.0.register(Box::new(counter.clone()))?;
        Ok(counter)
    }

    fn counters(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
    ) -> prometheus::Result<IntCounterVec> {
        let vec = IntCounterVec::new(Opts::new(name, help), labels)?;
        self.0.register(Box::new(vec.clone()))?;
        Ok(vec)
    }

    fn gauge(&self, name: &str, help: &str) -> prometheus::Result<IntGauge> {
        let gauge = IntGauge::new(name, help)?;
        self.0.register(Box::new(gauge.clone()))?;
        Ok(gauge)
    }

    fn gauges(&self, name: &str, help: &str, labels: &[&str]) -> prometheus::Result<IntGaugeVec> {
        let vec = IntGaugeVec::new(Opts::new(name, help), labels)?;
        self.0.register(Box::new(vec.clone()))?;
        Ok(vec)
    }

    fn histograms(
        &self,
        (name, help): (&str, &str),
        labels: &[&str],
        buckets: &[f64],
    ) -> prometheus::Result<HistogramVec> {
        let opts = HistogramOpts::new(name, help).buckets(buckets.to_vec());
        let vec = HistogramVec::new(opts, labels)?;
        self.0.register(Box::new(vec.clone()))?;
        Ok(vec)
    }

    fn histogram(&self, name: &str, help: &str, buckets: &[f64]) -> prometheus::Result<Histogram> {
        let opts = HistogramOpts::new(name, help).buckets(buckets.to_vec());
        let histogram = Histogram::with_opts(opts)?;
        self.0.register(Box::new(histogram.clone()))?;
        Ok(histogram)
    }
}

impl Families {
    pub fn register() -> prometheus::Result<Self> {
        let registry = Registry::new_custom(Some("gatehouse".into()), None)?;
        let r = Registrar(&registry);
        let build = r.gauges("build_info", "The running build; always 1.", &["version"])?;
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        let (auth, backends) = (AuthFamilies::register(&r)?, BackendFamilies::register(&r)?);
        Ok(Self {
            http_requests: r.counters(
                "http_requests_total",
                "HTTP requests answered, by route pattern, method and status.",
                &["route", "method", "status"],
            )?,
            http_duration: r.histograms(
                (
                    "http_request_duration_seconds",
                    "Time to answer an HTTP request, by route pattern.",
                ),
                &["route"],
                HTTP_BUCKETS,
            )?,
            tokens: auth.tokens,
            logins: auth.logins,
            refresh_reuse: auth.refresh_reuse,
            code_replays: auth.code_replays,
            rate_limited: auth.rate_limited,
            upstream_sign_ins: auth.upstream_sign_ins,
            sessions_active: auth.sessions_active,
            argon2_queue: backends.argon2_queue,
            argon2_wait: backends.argon2_wait,
            argon2_busy: backends.argon2_busy,
            store_duration: backends.store_duration,
            store_errors: backends.store_errors,
            db_duration: backends.db_duration,
            db_errors: backends.db_errors,
            mail_sent: backends.mail_sent,
            mail_failures: backends.mail_failures,
            outbox_messages: backends.outbox_messages,
            outbox_oldest_age: backends.outbox_oldest_age,
            key_age: backends.key_age,
            key_rotation_period: backends.key_rotation_period,
            registry,
        })
    }
}

struct AuthFamilies {
    tokens: [[IntCounter; 2]; 3],
    logins: [IntCounter; 4],
    refresh_reuse: IntCounter,
    code_replays: IntCounter,
    rate_limited: IntCounterVec,
    upstream_sign_ins: IntCounterVec,
    sessions_active: IntGauge,
}

impl AuthFamilies {
    fn register(r: &Registrar<'_>) -> prometheus::Result<Self> {
        let tokens = r.counters(
            "tokens_issued_total",
            "Token responses issued at /token, by grant type and client type.",
            &["grant_type", "client_type"],
        )?;
        let logins = r.counters(
            "logins_total",
            "Sign-ins by outcome; an unknown email or a disabled account counts as wrong_password.",
            &["outcome"],
        )?;
        Ok(Self {
            tokens: Grant::ALL.map(|grant| {
                ClientType::ALL
                    .map(|client| tokens.with_label_values(&[grant.as_str(), client.as_str()]))
            }),
            logins: LoginOutcome::ALL.map(|o| logins.with_label_values(&[o.as_str()])),
            refresh_reuse: r.counter(
                "refresh_token_reuse_detected_total",
                "Rotated or leaked refresh tokens presented again; each revoked its family.",
            )?,
            code_replays: r.counter(
                "authorization_code_replays_total",
                "Authorization codes presented again; each revoked what the code had issued.",
            )?,
            rate_limited: r.counters(
                "rate_limit_rejections_total",
                "Requests refused (or mails not sent) by a rate limit, by limit.",
                &["limit"],
            )?,
            upstream_sign_ins: r.counters(
                "upstream_sign_ins_total",
                "Round trips to upstream providers (federation) by provider and outcome: \
                 success, or why it stopped (unreachable, rejected, expired, ...).",
                &["provider", "outcome"],
            )?,
            sessions_active: r.gauge(
                "sessions_active",
                "Browser sessions started within sessions.ttl_secs and not ended, as counted by \
                 this instance since it started (sum over instances; approximate).",
            )?,
        })
    }
}

struct BackendFamilies {
    argon2_queue: IntGauge,
    argon2_wait: Histogram,
    argon2_busy: IntCounter,
    store_duration: HistogramVec,
    store_errors: IntCounterVec,
    db_duration: HistogramVec,
    db_errors: IntCounterVec,
    mail_sent: IntCounter,
    mail_failures: [IntCounter; 2],
    outbox_messages: IntGaugeVec,
    outbox_oldest_age: IntGauge,
    key_age: IntGaugeVec,
    key_rotation_period: IntGauge,
}

impl BackendFamilies {
    fn register(r: &Registrar<'_>) -> prometheus::Result<Self> {
        let (mail_sent, mail_failures, outbox_messages, outbox_oldest_age) = mail(r)?;
        Ok(Self {
            argon2_queue: r.gauge(
                "argon2_queue_depth",
                "Password hashes waiting for a hashing thread.",
            )?,
            argon2_wait: r.histogram(
                "argon2_queue_wait_seconds",
                "Time a password hash waited for a hashing thread.",
                QUEUE_BUCKETS,
            )?,
            argon2_busy: r.counter(
                "argon2_rejections_total",
                "Password hashes refused at once because the pool and its queue were full (503).",
            )?,
            store_duration: r.histograms(
                (
                    "store_operation_duration_seconds",
                    "Ephemeral store calls, by backend and operation.",
                ),
                &["backend", "operation"],
                BACKEND_BUCKETS,
            )?,
            store_errors: r.counters(
                "store_errors_total",
                "Ephemeral store calls that failed (unreachable, timed out, misbehaving).",
                &["backend", "operation"],
            )?,
            db_duration: r.histograms(
                (
                    "database_query_duration_seconds",
                    "Database statements through the connection pool, by backend and kind.",
                ),
                &["backend", "operation"],
                BACKEND_BUCKETS,
            )?,
            db_errors: r.counters(
                "database_errors_total",
                "Database statements that failed, by backend and kind.",
                &["backend", "operation"],
            )?,
            mail_sent,
            mail_failures,
            outbox_messages,
            outbox_oldest_age,
            key_age: r.gauges(
                "signing_key_age_seconds",
                "Time since the key that signs now began to sign, by algorithm.",
                &["alg"],
            )?,
            key_rotation_period: r.gauge(
                "signing_key_rotation_period_seconds",
                "keys.rotate_after_days in seconds; 0 when keys are rotated by hand only.",
            )?,
        })
    }
}

type MailFamilies = (IntCounter, [IntCounter; 2], IntGaugeVec, IntGauge);

fn mail(r: &Registrar<'_>) -> prometheus::Result<MailFamilies> {
    let failures = r.counters(
        "mail_failures_total",
        "Mail deliveries that failed, by what became of the message.",
        &["outcome"],
    )?;
    let outbox = r.gauges(
        "mail_outbox_messages",
        "Messages in the outbox: waiting to be sent, or given up.",
        &["state"],
    )?;
    for state in ["pending", "given_up"] {
        outbox.with_label_values(&[state]);
    }
    Ok((
        r.counter("mail_sent_total", "Mail messages delivered.")?,
        MailFailure::ALL.map(|f| failures.with_label_values(&[f.as_str()])),
        outbox,
        r.gauge(
            "mail_outbox_oldest_pending_age_seconds",
            "Age of the oldest message waiting to be sent; 0 when none waits.",
        )?,
    ))
}

/// One handle per operation, in [`StoreOp::ALL`]'s order.
pub(super) fn per_store_op<T>(make: impl Fn(StoreOp) -> T) -> [T; 17] {
    StoreOp::ALL.map(make)
}

/// One handle per statement kind, in [`DbOp::ALL`]'s order.
pub(super) fn per_db_op<T>(make: impl Fn(DbOp) -> T) -> [T; 5] {
    DbOp::ALL.map(make)
}
