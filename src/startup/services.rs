//! The capability services, each built from the shared parts.

use std::time::Duration;

use super::Parts;
use crate::accounts::PasswordPolicy;
use crate::admin::Admin;
use crate::admin::access::AdminAccess;
use crate::admin::dynamic::Registrar;
use crate::mfa::Factors;
use crate::oauth::authorize::Authorizer;
use crate::oauth::client_auth::ClientAuthenticator;
use crate::oauth::grants::Grants;
use crate::oauth::revocation::Revocation;
use crate::oauth::standing::Standing;
use crate::oidc::account::Account;
use crate::oidc::session::SignOn;
use crate::oidc::signin::{CodeMail, LoginPipeline};
use crate::oidc::userinfo::UserInfo;
use crate::selfservice::SelfService;

pub(super) fn session_ttl(settings: &crate::settings::Settings) -> Duration {
    Duration::from_secs(settings.sessions.ttl_secs.max(1) as u64)
}

impl Parts {
    pub(super) fn family_ttl(&self) -> Duration {
        Duration::from_secs(self.settings.tokens.refresh_token_max_ttl_secs.max(1) as u64)
    }

    pub(super) fn factors(&self) -> Factors {
        Factors {
            db: self.db.clone(),
            store: self.store.clone(),
            keys: self.keys.clone(),
            passwords: self.passwords.clone(),
            clock: self.clock.clone(),
        }
    }

    /// The upstream providers; nothing is fetched from them until first use.
    pub(super) fn federation(&self) -> anyhow::Result<crate::federation::Federation> {
        let shared = (self.db.clone(), self.store.clone(), self.clock.clone());
        let issuer = self.issuer.clone();
        let (settings, throttle) = (&self.settings.federation, self.throttle.clone());
        crate::federation::Federation::new(settings, issuer, shared, (throttle, &self.metrics))
    }

    pub(super) fn login_pipeline(&self, sign_on: &SignOn) -> LoginPipeline {
        let mfa = &self.settings.mfa;
        LoginPipeline {
            authorizer: self.authorizer(),
            sign_on: sign_on.clone(),
            factors: self.factors(),
            codes: CodeMail {
                db: self.db.clone(),
                mailer: self.mailer.clone(),
                throttle: self.throttle.clone(),
                ttl: Duration::from_secs(mfa.email_code_ttl_secs),
            },
            attempts: mfa.attempts,
        }
    }

    pub(super) fn sign_on(&self) -> SignOn {
        SignOn {
            db: self.db.clone(),
            store: self.store.clone(),
            clients: self.clients.clone(),
            passwords: self.passwords.clone(),
            throttle: self.throttle.clone(),
            lockout: self.lockout.clone(),
            audit: self.audit.clone(),
            notifier: self.notifier.clone(),
            clock: self.clock.clone(),
            session_ttl: session_ttl(&self.settings),
            family_ttl: self.family_ttl(),
            metrics: self.metrics.clone(),
            sessions: self.sessions.clone(),
        }
    }

    /// The admin service as the admin API uses it; each request acts for its operator.
    pub(super) fn admin(&self) -> Admin {
        Admin {
            db: self.db.clone(),
            passwords: self.passwords.clone(),
            policy: PasswordPolicy::from(&self.settings.passwords),
            clock: self.clock.clone(),
            origin: Default::default(),
            by: None,
            secret_overlap: Duration::from_secs(self.settings.admin.secret_rotation_overlap_secs),
            algorithms: self.keys.algorithms().to_vec(),
            keys: Some(self.key_admin.clone()),
        }
    }

    pub(super) fn registrar(&self) -> Registrar {
        Registrar {
            admin: self.admin(),
            mode: self.settings.registration.mode,
            issuer: self.issuer.clone(),
            throttle: self.throttle.clone(),
        }
    }

    pub(super) fn admin_access(&self) -> AdminAccess {
        AdminAccess {
            db: self.db.clone(),
            keys: self.keys.clone(),
            issuer: self.issuer.clone(),
            store: self.store.clone(),
            clock: self.clock.clone(),
        }
    }

    pub(super) fn self_service(&self) -> SelfService {
        let s = &self.settings;
        SelfService {
            db: self.db.clone(),
            passwords: self.passwords.clone(),
            policy: PasswordPolicy::from(&s.passwords),
            throttle: self.throttle.clone(),
            lockout: self.lockout.clone(),
            audit: self.audit.clone(),
            sign_on: self.sign_on(),
            mailer: self.mailer.clone(),
            issuer: self.issuer.clone(),
            clock: self.clock.clone(),
            signup_enabled: s.signup.enabled,
            verification_ttl: Duration::from_secs(s.signup.verification_ttl_secs),
            reset_ttl: Duration::from_secs(s.recovery.reset_ttl_secs),
        }
    }

    pub(super) fn account(&self, sign_on: &SignOn) -> Account {
        Account {
            sign_on: sign_on.clone(),
            policy: PasswordPolicy::from(&self.settings.passwords),
            issuer: self.issuer.clone(),
            mailer: self.mailer.clone(),
            factors: self.factors(),
            totp_issuer: self.settings.mfa.totp_issuer.clone(),
        }
    }

    pub(super) fn authorizer(&self) -> Authorizer {
        let code_ttl = self.settings.tokens.authorization_code_ttl_secs.max(1) as u64;
        Authorizer {
            db: self.db.clone(),
            store: self.store.clone(),
            clients: self.clients.clone(),
            keys: self.keys.clone(),
            issuer: self.issuer.clone(),
            clock: self.clock.clone(),
            code_ttl: Duration::from_secs(code_ttl),
            throttle: self.throttle.clone(),
            audit: self.audit.clone(),
            users: self.user_status.clone(),
        }
    }

    pub(super) fn grants(&self) -> Grants {
        Grants {
            db: self.db.clone(),
            users: self.user_status.clone(),
            store: self.store.clone(),
            keys: self.keys.clone(),
            issuer: self.issuer.clone(),
            settings: self.settings.tokens.clone(),
            clock: self.clock.clone(),
            // Two store timeouts and a second: a claimed rotation signs and writes once.
            claim_lease: Duration::from_millis(2 * self.settings.redis.timeout_ms + 1000),
            audit: self.audit.clone(),
            throttle: self.throttle.clone(),
            metrics: self.metrics.clone(),
        }
    }

    pub(super) fn client_authenticator(&self) -> ClientAuthenticator {
        ClientAuthenticator {
            db: self.db.clone(),
            clients: self.clients.clone(),
            store: self.store.clone(),
            issuer: self.issuer.clone(),
            clock: self.clock.clone(),
            max_assertion_lifetime: Duration::from_secs(
                self.settings
                    .tokens
                    .client_assertion_max_lifetime_secs
                    .max(1) as u64,
            ),
            throttle: self.throttle.clone(),
            audit: self.audit.clone(),
        }
    }

    pub(super) fn revocation(&self) -> Revocation {
        Revocation {
            store: self.store.clone(),
            keys: self.keys.clone(),
            issuer: self.issuer.clone(),
            clock: self.clock.clone(),
            family_ttl: self.family_ttl(),
            audit: self.audit.clone(),
            standing: self.standing(),
        }
    }

    fn standing(&self) -> Standing {
        Standing {
            db: self.db.clone(),
            clients: self.clients.clone(),
            users: self.user_status.clone(),
        }
    }

    pub(super) fn userinfo(&self) -> UserInfo {
        UserInfo {
            db: self.db.clone(),
            store: self.store.clone(),
            keys: self.keys.clone(),
            issuer: self.issuer.clone(),
            clock: self.clock.clone(),
            standing: self.standing(),
        }
    }
}
