//! The limits of each endpoint a stranger can call, by what they protect. Budgets are spent
//! only by requests that got as far as real work: a bad CSRF value, an unknown client or a
//! malformed body is refused before any of these is consulted.

use std::time::Duration;

use super::window::Window;
use super::{Limited, Limiter, Rule};
use crate::audit::{Audit, Event, Kind, Origin};
use crate::metrics::{Metrics, RateLimitCounters};
use crate::settings::{LimitSettings, RateSettings};

#[derive(Clone)]
pub struct Throttle {
    limiter: Limiter,
    rules: Rules,
    audit: Audit,
    rejections: RateLimitCounters,
}

#[derive(Debug, Clone, Copy)]
struct Rules {
    login_per_ip: Rule,
    login_failures_per_ip: Rule,
    authorize_per_ip: Rule,
    token_failures_per_ip: Rule,
    token_per_client: Rule,
    signup_per_ip: Rule,
    recovery_per_ip: Rule,
    mail_per_address: Rule,
    registration_per_ip: Rule,
}

fn rule(name: &'static str, rate: &RateSettings) -> Rule {
    Rule {
        name,
        window: Window {
            limit: rate.limit,
            period: Duration::from_secs(rate.window_secs.max(1)),
        },
    }
}

impl Throttle {
    pub fn new(
        limiter: Limiter,
        settings: &LimitSettings,
        audit: Audit,
        metrics: &Metrics,
    ) -> Self {
        let rules = Rules {
            login_per_ip: rule("login", &settings.login_per_ip),
            login_failures_per_ip: rule("login_failures", &settings.login_failures_per_ip),
            authorize_per_ip: rule("authorize", &settings.authorize_per_ip),
            token_failures_per_ip: rule("token_failures", &settings.token_failures_per_ip),
            token_per_client: rule("token_client", &settings.token_per_client),
            signup_per_ip: rule("signup", &settings.signup_per_ip),
            recovery_per_ip: rule("recovery", &settings.recovery_per_ip),
            mail_per_address: rule("mail_address", &settings.mail_per_address),
            registration_per_ip: rule("registration", &settings.registration_per_ip),
        };
        let r = &rules;
        let rejections = metrics.rate_limits(&[
            r.login_per_ip.name,
            r.login_failures_per_ip.name,
            r.authorize_per_ip.name,
            r.token_failures_per_ip.name,
            r.token_per_client.name,
            r.signup_per_ip.name,
            r.recovery_per_ip.name,
            r.mail_per_address.name,
            r.registration_per_ip.name,
        ]);
        Self {
            limiter,
            rules,
            audit,
            rejections,
        }
    }

    /// A well-formed sign-in attempt (valid CSRF, live pending request): counts toward the
    /// address's attempts (each costs an Argon2 hash) and is refused once the address has
    /// spent its failures (one address trying many accounts).
    pub async fn sign_in_attempt(&self, origin: &Origin) -> Result<(), Limited> {
        let failures = &self.rules.login_failures_per_ip;
        self.noted(origin, self.limiter.check(failures, &origin.ip).await)?;
        let attempts = self.limiter.hit(&self.rules.login_per_ip, &origin.ip).await;
        self.noted(origin, attempts)
    }

    /// A failed sign-in spends one of the address's failures. Going over is not an error
    /// for this request (it failed already); its next attempt is refused.
    pub async fn sign_in_failed(&self, origin: &Origin) -> Result<(), Limited> {
        let failures = &self.rules.login_failures_per_ip;
        match self.tripped(origin, self.limiter.hit(failures, &origin.ip).await) {
            Err(Limited::Over { .. }) => Ok(()),
            other => other,
        }
    }

    /// A new pending authorization (a sign-in page to show) opened from this address.
    pub async fn new_authorization(&self, origin: &Origin) -> Result<(), Limited> {
        let rule = &self.rules.authorize_per_ip;
        self.noted(origin, self.limiter.hit(rule, &origin.ip).await)
    }

    /// Before client authentication at `/token`, `/introspect` and `/revoke`: refused only
    /// when this instance has just refused the address, so the success path pays no store
    /// round trip. Every instance learns of an over-spent address at its next failure.
    pub fn token_request(&self, origin: &Origin) -> Result<(), Limited> {
        let rule = &self.rules.token_failures_per_ip;
        self.counted(self.limiter.check_remembered(rule, &origin.ip))
    }

    /// A failed client authentication or grant; `Over` once the address has failed too
    /// often, and then its further requests are refused for a while.
    pub async fn token_failed(&self, origin: &Origin) -> Result<(), Limited> {
        let rule = &self.rules.token_failures_per_ip;
        self.noted(origin, self.limiter.hit(rule, &origin.ip).await)
    }

    /// An authenticated client's request; off (no store round trip) unless configured.
    pub async fn client_request(&self, origin: &Origin, client_id: &str) -> Result<(), Limited> {
        let rule = &self.rules.token_per_client;
        self.noted(origin, self.limiter.hit(rule, client_id).await)
    }

    /// A registration submitted (valid CSRF) from this address.
    pub async fn signup(&self, origin: &Origin) -> Result<(), Limited> {
        let rule = &self.rules.signup_per_ip;
        self.noted(origin, self.limiter.hit(rule, &origin.ip).await)
    }

    /// A dynamic client registration (RFC 7591) from this address.
    pub async fn client_registration(&self, origin: &Origin) -> Result<(), Limited> {
        let rule = &self.rules.registration_per_ip;
        self.noted(origin, self.limiter.hit(rule, &origin.ip).await)
    }

    /// A password reset request or a verification resend from this address.
    pub async fn recovery(&self, origin: &Origin) -> Result<(), Limited> {
        let rule = &self.rules.recovery_per_ip;
        self.noted(origin, self.limiter.hit(rule, &origin.ip).await)
    }

    /// Whether one more account mail may go to `address` (a digest of it, whether or not
    /// it has an account, so the answer tells nothing). `false` is not an error: the
    /// request is answered as usual and sends nothing.
    pub async fn mail_to(&self, origin: &Origin, address: &str) -> Result<bool, Limited> {
        let rule = &self.rules.mail_per_address;
        match self.noted(origin, self.limiter.hit(rule, address).await) {
            Ok(()) => Ok(true),
            Err(Limited::Over { .. }) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// A refusal: counted in the metrics, and audited when it trips the limit.
    fn noted(&self, origin: &Origin, result: Result<(), Limited>) -> Result<(), Limited> {
        self.counted(self.tripped(origin, result))
    }

    fn counted(&self, result: Result<(), Limited>) -> Result<(), Limited> {
        if let Err(Limited::Over { rule, .. }) = &result {
            self.rejections.rejected(rule);
        }
        result
    }

    /// Records the moment a limit trips (not each refusal after it: an attacker's flood
    /// must not flood the audit log too).
    fn tripped(&self, origin: &Origin, result: Result<(), Limited>) -> Result<(), Limited> {
        if let Err(Limited::Over {
            rule,
            retry_after,
            tripped: true,
        }) = &result
        {
            let event = Event::new(Kind::RateLimited)
                .with("rule", *rule)
                .with("retry_after_secs", retry_after.as_secs());
            self.audit.record(origin, event);
        }
        result
    }
}
