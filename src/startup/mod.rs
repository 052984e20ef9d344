//! The one place that builds pools, stores and keys and mounts routes and middleware.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use sea_orm::DatabaseConnection;
use secrecy::{ExposeSecret, SecretString};
use tracing_actix_web::TracingLogger;

use crate::accounts::{Passwords, UserStatus};
use crate::audit::Audit;
use crate::clients::{AllowedOrigins, ClientCache};
use crate::clock::{self, SharedClock};
use crate::http::cookies::CookiePolicy;
use crate::keys::KeyRing;
use crate::limits::{Limiter, Lockout, Throttle};
use crate::mail::Mailer;
use crate::metrics::{ActiveSessions, Metrics};
use crate::mfa::Factors;
use crate::oauth::authorize::Authorizer;
use crate::oauth::client_auth::ClientAuthenticator;
use crate::oauth::grants::Grants;
use crate::oauth::revocation::Revocation;
use crate::oidc::account::Account;
use crate::oidc::backchannel::Notifier;
use crate::oidc::discovery::ProviderMetadata;
use crate::oidc::logout::RpLogout;
use crate::oidc::session::SignOn;
use crate::oidc::signin::LoginPipeline;
use crate::oidc::userinfo::UserInfo;
use crate::proxies::TrustedProxies;
use crate::selfservice::SelfService;
use crate::settings::{DatabaseKind, Issuer, Settings};
use crate::store::Store;
use crate::telemetry::RequestSpan;
use crate::{database, demo, http};

mod lifecycle;
mod observe;
mod services;
mod tls;

pub struct Application {
    port: u16,
    server: Server,
    /// The metrics listener, when `metrics.listen` is on.
    metrics: Option<observe::MetricsServer>,
    db: DatabaseConnection,
    mailer: Mailer,
    lifecycle: lifecycle::Lifecycle,
}

/// The parts everything else is made of, built once.
struct Parts {
    settings: Settings,
    issuer: Issuer,
    db: DatabaseConnection,
    store: Store,
    keys: Arc<KeyRing>,
    key_admin: Arc<crate::admin::keys::KeyAdmin>,
    passwords: Passwords,
    user_status: UserStatus,
    notifier: Notifier,
    clients: Arc<ClientCache>,
    clock: SharedClock,
    audit: Audit,
    throttle: Throttle,
    lockout: Lockout,
    mailer: Mailer,
    metrics: Metrics,
    sessions: ActiveSessions,
}

impl Parts {
    /// Connects, migrates, loads (or creates) keys and seeds demo data when enabled.
    async fn build(settings: Settings, clock: SharedClock) -> anyhow::Result<Self> {
        let issuer = settings.issuer()?;
        let metrics = Metrics::new()?;
        let mut db = database::connect(&settings.database).await?;
        database::observe(&mut db, &metrics);
        database::migrate(&db).await?;
        let sqlite_file = match settings.database.kind()? {
            DatabaseKind::Sqlite => database::sqlite_file(settings.database.url.expose_secret())?,
            DatabaseKind::Postgres => None,
        };
        let wall_clock = clock::system();
        let store_clock = (wall_clock, &metrics);
        let store = crate::store::build(&settings, &db, sqlite_file.as_deref(), store_clock)?;
        let keys = Arc::new(KeyRing::load_or_create(&db, &settings, clock.now()).await?);
        KeyRing::watch(&keys, db.clone(), clock.clone());
        let passwords = Passwords::new(&settings.passwords, &metrics)?;
        if settings.demo.seed {
            demo::seed(&db, &passwords, keys.algorithms(), clock.now()).await?;
        }
        let notifier = Notifier::new(keys.clone(), issuer.clone(), clock.clone())?;
        let user_status = UserStatus::start(&db, sqlite_file.as_deref(), clock.clone())?;
        let clients = Arc::new(ClientCache::new(
            crate::clients::cache::FRESH_FOR,
            clock.clone(),
        ));
        let audit = Audit::start(
            db.clone(),
            sqlite_file.as_deref(),
            clock.clone(),
            &settings.audit,
        )?;
        let limiter = Limiter::new(store.clone(), clock.clone());
        let throttle = Throttle::new(limiter.clone(), &settings.limits, audit.clone(), &metrics);
        let parts = (limiter, store.clone(), clock.clone());
        let lockout = Lockout::new(parts, &settings.lockout, keys.form_key());
        let mailer = Mailer::start(db.clone(), &settings.mail, (clock.clone(), &metrics))?;
        let sessions = metrics.active_sessions(services::session_ttl(&settings));
        crate::selfservice::tokens::spawn_purger(db.clone(), clock.clone());
        let key_admin = crate::admin::keys::KeyAdmin::from_settings(&settings)?;
        Ok(Self {
            settings,
            issuer,
            db,
            store,
            keys,
            key_admin,
            passwords,
            user_status,
            notifier,
            clients,
            clock,
            audit,
            throttle,
            lockout,
            mailer,
            metrics,
            sessions,
        })
    }
}

/// What handlers, extractors and middleware receive: each dependency its own `web::Data`.
#[derive(Clone)]
struct AppData {
    db: web::Data<DatabaseConnection>,
    store: web::Data<Store>,
    keys: web::Data<KeyRing>,
    issuer: web::Data<Issuer>,
    cookies: web::Data<CookiePolicy>,
    proxies: web::Data<TrustedProxies>,
    origins: web::Data<AllowedOrigins>,
    discovery: web::Data<crate::oidc::discovery::DiscoveryJson>,
    authorizer: web::Data<Authorizer>,
    login: web::Data<LoginPipeline>,
    sign_on: web::Data<SignOn>,
    account: web::Data<Account>,
    logout: web::Data<RpLogout>,
    grants: web::Data<Grants>,
    client_auth: web::Data<ClientAuthenticator>,
    revocation: web::Data<Revocation>,
    userinfo: web::Data<UserInfo>,
    self_service: web::Data<SelfService>,
    factors: web::Data<Factors>,
    admin: web::Data<crate::admin::Admin>,
    admin_access: web::Data<crate::admin::access::AdminAccess>,
    oversight: web::Data<crate::admin::sessions::Oversight>,
    registrar: web::Data<crate::admin::dynamic::Registrar>,
    draining: web::Data<http::health::Draining>,
    federation: web::Data<crate::federation::Federation>,
}

impl AppData {
    fn new(parts: &Parts) -> anyhow::Result<Self> {
        let sign_on = parts.sign_on();
        let logout = RpLogout {
            sign_on: sign_on.clone(),
            keys: parts.keys.clone(),
            issuer: parts.issuer.clone(),
        };
        let login = parts.login_pipeline(&sign_on);
        let oversight = crate::admin::sessions::Oversight {
            sign_on: sign_on.clone(),
            account: parts.account(&sign_on),
        };
        Ok(Self {
            db: web::Data::new(parts.db.clone()),
            store: web::Data::new(parts.store.clone()),
            keys: web::Data::from(parts.keys.clone()),
            issuer: web::Data::new(parts.issuer.clone()),
            cookies: web::Data::new(CookiePolicy::new(
                &parts.settings,
                parts.keys.form_key(),
                parts.keys.previous_form_key(),
            )),
            proxies: web::Data::new(TrustedProxies::parse(
                &parts.settings.server.trusted_proxies,
            )?),
            origins: web::Data::new(AllowedOrigins::new(parts.db.clone(), parts.clock.clone())),
            discovery: web::Data::new(
                ProviderMetadata::new(&parts.issuer)
                    .with_registration(parts.settings.registration.mode)
                    .with_federation(parts.settings.federation.providers.len())
                    .with_algorithms(parts.keys.algorithms())
                    .to_json()?,
            ),
            authorizer: web::Data::new(parts.authorizer()),
            login: web::Data::new(login),
            account: web::Data::new(parts.account(&sign_on)),
            sign_on: web::Data::new(sign_on),
            logout: web::Data::new(logout),
            grants: web::Data::new(parts.grants()),
            client_auth: web::Data::new(parts.client_authenticator()),
            revocation: web::Data::new(parts.revocation()),
            userinfo: web::Data::new(parts.userinfo()),
            self_service: web::Data::new(parts.self_service()),
            factors: web::Data::new(parts.factors()),
            admin: web::Data::new(parts.admin()),
            admin_access: web::Data::new(parts.admin_access()),
            oversight: web::Data::new(oversight),
            registrar: web::Data::new(parts.registrar()),
            draining: web::Data::new(http::health::Draining::default()),
            federation: web::Data::new(parts.federation()?),
        })
    }

    fn register(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(self.db.clone())
            .app_data(self.store.clone())
            .app_data(self.keys.clone())
            .app_data(self.issuer.clone())
            .app_data(self.cookies.clone())
            .app_data(self.proxies.clone())
            .app_data(self.origins.clone())
            .app_data(self.discovery.clone())
            .app_data(self.authorizer.clone())
            .app_data(self.login.clone())
            .app_data(self.sign_on.clone())
            .app_data(self.account.clone())
            .app_data(self.logout.clone())
            .app_data(self.grants.clone())
            .app_data(self.client_auth.clone())
            .app_data(self.revocation.clone())
            .app_data(self.userinfo.clone())
            .app_data(self.self_service.clone())
            .app_data(self.factors.clone())
            .app_data(self.admin.clone())
            .app_data(self.admin_access.clone())
            .app_data(self.oversight.clone())
            .app_data(self.registrar.clone())
            .app_data(self.draining.clone())
            .app_data(self.federation.clone());
    }
}

impl Application {
    /// Binds `server.listen` and builds everything.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let listen = settings.server.listen;
        let listener = TcpListener::bind(listen)
            .map_err(|e| anyhow::anyhow!("cannot listen on {listen} (server.listen): {e}"))?;
        Self::build_on(settings, listener).await
    }

    /// Serves on a listener bound by the caller (tests bind port 0 first to learn the issuer).
    pub async fn build_on(settings: Settings, listener: TcpListener) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, listener, clock::system()).await
    }

    /// As [`build_on`](Self::build_on), reading the time from `clock` (tests move it).
    pub async fn build_with_clock(
        settings: Settings,
        listener: TcpListener,
        clock: SharedClock,
    ) -> anyhow::Result<Self> {
        let server_settings = settings.server.clone();
        let tls = match server_settings.tls.files()? {
            Some((cert, key)) => Some(tls::Certificates::load(&cert, &key)?),
            None => None,
        };
        let hsts = settings.issuer()?.is_https();
        let metrics_listener = observe::bind(&settings)?;
        let parts = Parts::build(settings, clock).await?;
        let port = listener.local_addr()?.port();
        let (db, mailer) = (parts.db.clone(), parts.mailer.clone());
        let metrics = metrics_listener
            .map(|listener| parts.metrics_server(listener))
            .transpose()?;
        let data = AppData::new(&parts)?;
        let draining = data.draining.clone();
        let listening = Listening {
            listener,
            tls: tls.clone(),
            workers: server_settings.workers,
            shutdown_timeout_secs: server_settings.shutdown_timeout_secs,
            metrics: parts.metrics.clone(),
        };
        let server = serve(listening, data, hsts)?;
        let lifecycle = lifecycle::Lifecycle {
            handle: server.handle(),
            draining,
            drain: std::time::Duration::from_secs(server_settings.drain_secs),
            tls,
        };
        Ok(Self {
            port,
            server,
            metrics,
            db,
            mailer,
            lifecycle,
        })
    }

    /// A handle to stop the server (graceful) from elsewhere.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Where `/metrics` is served; `None` when `metrics.listen` is off.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|metrics| metrics.address)
    }

    /// Serves until stopped: SIGTERM drains first (see [`lifecycle`]), SIGINT does not;
    /// requests in flight finish and the mail worker finishes the message in hand. The
    /// metrics listener stops last, so the drain and the stop can still be watched.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let lifecycle = self.lifecycle;
        let signals = tokio::spawn(async move {
            if let Err(e) = lifecycle.watch().await {
                tracing::error!(error = %e, "cannot handle signals: SIGTERM will not drain");
            }
        });
        let served = observe::MetricsServer::outlive(self.metrics, self.server).await;
        signals.abort();
        served?;
        self.mailer.stop().await;
        database::checkpoint(&self.db).await;
        Ok(())
    }
}

/// Where and how the server listens.
struct Listening {
    listener: TcpListener,
    tls: Option<Arc<tls::Certificates>>,
    workers: usize,
    shutdown_timeout_secs: u64,
    /// Counts each request (and sets its `X-Request-Id`).
    metrics: Metrics,
}

fn serve(listening: Listening, data: AppData, hsts: bool) -> anyhow::Result<Server> {
    let metrics = listening.metrics.clone();
    http::observe::declare_routes(&metrics);
    let server = HttpServer::new(move || {
        let metrics = metrics.clone();
        App::new()
            .wrap(from_fn(http::cookies::set_new_binding))
            .wrap(from_fn(http::cors::middleware))
            .wrap(http::bounds::security_headers(hsts))
            .wrap(from_fn(move |request, next| {
                http::observe::middleware(metrics.clone(), request, next)
            }))
            .wrap(TracingLogger::<RequestSpan>::new())
            .app_data(http::bounds::forms())
            .app_data(http::bounds::queries())
            .app_data(http::bounds::payloads())
            .configure(|cfg| data.register(cfg))
            .configure(http::configure)
    })
    // Signals are ours (lifecycle.rs): SIGTERM drains before actix's graceful stop.
    .disable_signals()
    .shutdown_timeout(listening.shutdown_timeout_secs);
    let mut server = match &listening.tls {
        Some(tls) => server.listen_rustls_0_23(listening.listener, tls.server_config()?)?,
        None => server.listen(listening.listener)?,
    };
    if listening.workers > 0 {
        server = server.workers(listening.workers);
    }
    Ok(server.run())
}

/// Reads `server.tls`'s certificate and key as a start would (`gatehouse check-config`).
pub fn check_tls(settings: &Settings) -> anyhow::Result<bool> {
    match settings.server.tls.files()? {
        Some((cert, key)) => tls::Certificates::load(&cert, &key).map(|_| true),
        None => Ok(false),
    }
}

/// Generates a value suitable for `keys.encryption_key`.
pub fn new_encryption_key() -> SecretString {
    SecretString::from(crate::keys::MasterKey::generate_encoded())
}
