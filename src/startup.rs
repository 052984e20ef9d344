//! The one place that builds pools, stores and keys and mounts routes and middleware.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::DefaultHeaders;
use actix_web::{App, HttpServer, web};
use sea_orm::DatabaseConnection;
use secrecy::{ExposeSecret, SecretString};
use tracing_actix_web::TracingLogger;

use crate::accounts::{Passwords, UserStatus};
use crate::clients::ClientCache;
use crate::http::oidc::DiscoveryJson;
use crate::keys::KeyRing;
use crate::oidc::backchannel::Notifier;
use crate::oidc::discovery::ProviderMetadata;
use crate::settings::{DatabaseKind, Issuer, Settings};
use crate::store::{RedisStore, SqlStore, SqliteStore, Store};
use crate::telemetry::RequestSpan;
use crate::{database, demo, http};

pub struct Application {
    port: u16,
    server: Server,
    db: DatabaseConnection,
}

/// Everything handlers need, built once and shared.
#[derive(Clone)]
pub struct Components {
    pub settings: Arc<Settings>,
    pub issuer: Issuer,
    pub db: DatabaseConnection,
    pub store: Store,
    pub keys: Arc<KeyRing>,
    pub passwords: Passwords,
    pub user_status: UserStatus,
    pub notifier: Notifier,
    pub clients: Arc<ClientCache>,
}

impl Components {
    /// Connects, migrates, loads (or creates) keys and seeds demo data when enabled.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let issuer = settings.issuer()?;
        let db = database::connect(&settings.database).await?;
        database::migrate(&db).await?;
        let sqlite_file = match settings.database.kind()? {
            DatabaseKind::Sqlite => database::sqlite_file(settings.database.url.expose_secret())?,
            DatabaseKind::Postgres => None,
        };
        let store = build_store(&settings, &db, sqlite_file.as_deref())?;
        let keys = Arc::new(KeyRing::load_or_create(&db, &settings).await?);
        let passwords = Passwords::new(&settings.passwords)?;
        if settings.demo.seed {
            demo::seed(&db, &passwords).await?;
        }
        let notifier = Notifier::new(keys.clone(), issuer.clone())?;
        let user_status = UserStatus::start(&db, sqlite_file.as_deref())?;
        Ok(Self {
            settings: Arc::new(settings),
            issuer,
            db,
            store,
            keys,
            passwords,
            user_status,
            notifier,
            clients: Arc::new(ClientCache::new(Duration::from_secs(10))),
        })
    }
}

/// Redis when `redis.url` is set, else the built-in table store in the same database: in
/// place on a SQLite file, through the pool on PostgreSQL (or an in-memory SQLite).
fn build_store(
    settings: &Settings,
    db: &DatabaseConnection,
    sqlite_file: Option<&Path>,
) -> anyhow::Result<Store> {
    const PURGE_EVERY: Duration = Duration::from_secs(60);
    if let Some(url) = &settings.redis.url {
        return Ok(Arc::new(RedisStore::connect(&settings.redis, url)?));
    }
    if let Some(file) = sqlite_file {
        return Ok(Arc::new(SqliteStore::open(file, PURGE_EVERY)?));
    }
    let store = SqlStore::new(db.clone());
    store.spawn_purger(PURGE_EVERY);
    Ok(Arc::new(store))
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
        let workers = settings.server.workers;
        let components = Components::build(settings).await?;
        let port = listener.local_addr()?.port();
        let db = components.db.clone();
        let server = serve(listener, components, workers)?;
        Ok(Self { port, server, db })
    }

    /// A handle to stop the server (graceful) from elsewhere.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGTERM/SIGINT, then drains in-flight requests (actix's graceful stop).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await?;
        database::checkpoint(&self.db).await;
        Ok(())
    }
}

fn serve(listener: TcpListener, c: Components, workers: usize) -> anyhow::Result<Server> {
    let discovery = web::Data::new(DiscoveryJson(ProviderMetadata::new(&c.issuer).to_json()?));
    let hsts = c.issuer.is_https();
    let components = web::Data::new(c.clone());
    let origins = web::Data::new(http::cors::AllowedOrigins::default());
    let data = (
        web::Data::new(c.db.clone()),
        web::Data::new(c.store.clone()),
        web::Data::from(c.keys.clone()),
        web::Data::new(c.issuer.clone()),
        web::Data::from(c.settings.clone()),
        web::Data::new(c.passwords.clone()),
    );
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(http::cors::middleware))
            .wrap(security_headers(hsts))
            .wrap(TracingLogger::<RequestSpan>::new())
            .app_data(form_errors())
            .app_data(query_errors())
            .app_data(components.clone())
            .app_data(origins.clone())
            .app_data(data.0.clone())
            .app_data(data.1.clone())
            .app_data(data.2.clone())
            .app_data(data.3.clone())
            .app_data(data.4.clone())
            .app_data(data.5.clone())
            .app_data(discovery.clone())
            .configure(http::configure)
    })
    .listen(listener)?
    .shutdown_timeout(10);
    if workers > 0 {
        server = server.workers(workers);
    }
    Ok(server.run())
}

/// Malformed form bodies become `invalid_request` instead of actix's plain-text 400.
fn form_errors() -> web::FormConfig {
    web::FormConfig::default()
        .limit(64 * 1024)
        .error_handler(|err, _| {
            crate::oauth::Error::invalid_request(format!("malformed form body: {err}")).into()
        })
}

fn query_errors() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| {
        crate::oauth::Error::invalid_request(format!("malformed query: {err}")).into()
    })
}

/// Added to every response that does not set its own.
fn security_headers(hsts: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "no-referrer"))
        .add((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ));
    if hsts {
        headers.add((
            "Strict-Transport-Security",
            "max-age=63072000; includeSubDomains",
        ))
    } else {
        headers
    }
}

/// Generates a value suitable for `keys.encryption_key`.
pub fn new_encryption_key() -> SecretString {
    SecretString::from(crate::keys::MasterKey::generate_encoded())
}
