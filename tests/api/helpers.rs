//! `TestApp`: the real server on port 0, on a fresh database and store per test.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use gatehouse::clock::{SharedClock, TestClock};
use gatehouse::settings::Settings;
use gatehouse::startup::Application;
use gatehouse::store::RedisStore;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use secrecy::SecretString;

/// Which production-like combination a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default: a SQLite file and the built-in store.
    Sqlite,
    /// Production: PostgreSQL and Redis.
    Postgres,
}

/// Runs an async test body once per backend: `backend_tests!(name);` expects
/// `async fn name(backend: Backend)` in the same module.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name($crate::helpers::Backend::Sqlite).await }
            )*
        }
        mod postgres_redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name($crate::helpers::Backend::Postgres).await }
            )*
        }
    };
}

pub fn postgres_admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Logs of every server in this test binary, so tests can check nothing secret is logged.
pub fn captured_logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let writer = LogWriter(logs.clone());
        let settings = gatehouse::settings::LogSettings {
            format: gatehouse::settings::LogFormat::Human,
            filter: "gatehouse=debug,info,sqlx=warn,sea_orm=warn".into(),
            flush_interval_ms: 0,
        };
        gatehouse::telemetry::init(&settings, move || writer.clone());
        logs
    })
}

#[derive(Clone)]
struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if std::env::var_os("TEST_LOG").is_some() {
            std::io::stderr().write_all(buf)?;
        }
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A fresh database (and Redis prefix) that is removed when dropped, and the clock of every
/// server on it (instances share one: a test moves time for all of them at once).
pub struct Isolation {
    pub backend: Backend,
    pub clock: Arc<TestClock>,
    pub database_url: String,
    pub redis_prefix: String,
    /// Where the file mail transport of every server on this isolation writes.
    pub mail_dir: PathBuf,
    sqlite_dir: Option<PathBuf>,
    pg_database: Option<String>,
}

impl Isolation {
    pub async fn new(backend: Backend) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let redis_prefix = format!("gatehouse-test:{id}:");
        let mail_dir = std::env::temp_dir().join(format!("gatehouse-mail-{id}"));
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("gatehouse-test-{id}"));
                std::fs::create_dir_all(&dir).unwrap();
                let url = format!("sqlite://{}?mode=rwc", dir.join("gatehouse.db").display());
                Self {
                    backend,
                    clock: TestClock::new(),
                    database_url: url,
                    redis_prefix,
                    mail_dir,
                    sqlite_dir: Some(dir),
                    pg_database: None,
                }
            }
            Backend::Postgres => {
                let name = format!("gatehouse_test_{id}");
                let admin = Database::connect(gatehouse::database::pool_options(
                    &postgres_admin_url(),
                ))
                .await
                .expect("PostgreSQL must be reachable for the postgres tests (TEST_DATABASE_URL)");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .unwrap();
                admin.close().await.ok();
                let mut url = url::Url::parse(&postgres_admin_url()).unwrap();
                url.set_path(&name);
                Self {
                    backend,
                    clock: TestClock::new(),
                    database_url: url.to_string(),
                    redis_prefix,
                    mail_dir,
                    sqlite_dir: None,
                    pg_database: Some(name),
                }
            }
        }
    }

    /// Settings for a server on this isolation, listening on `port`.
    pub fn settings(&self, port: u16) -> Settings {
        let mut s = Settings::built_in().unwrap();
        s.server.listen = format!("127.0.0.1:{port}").parse().unwrap();
        s.server.issuer = format!("http://127.0.0.1:{port}");
        s.server.workers = 2;
        s.database.url = SecretString::from(self.database_url.clone());
        s.passwords.max_concurrent = 2;
        s.mail.file_dir = self.mail_dir.clone();
        s.mail.poll_interval_ms = 100;
        // A metrics listener of its own per server, on a free port.
        s.metrics.listen = Some("127.0.0.1:0".parse().unwrap());
        if self.backend == Backend::Postgres {
            s.redis.url = Some(SecretString::from(redis_url()));
            s.redis.key_prefix = self.redis_prefix.clone();
            s.keys.encryption_key = Some(SecretString::from(test_encryption_key()));
        }
        s
    }

    pub async fn connect(&self) -> DatabaseConnection {
        let db = Database::connect(gatehouse::database::pool_options(&self.database_url))
            .await
            .unwrap();
        migrations_up(&db).await;
        db
    }
}

async fn migrations_up(db: &DatabaseConnection) {
    gatehouse::database::migrate(db).await.unwrap();
}

pub fn test_encryption_key() -> String {
    // Fixed per test binary run; any 32 bytes will do.
    static KEY: OnceLock<String> = OnceLock::new();
    KEY.get_or_init(gatehouse::keys::MasterKey::generate_encoded)
        .clone()
}

impl Drop for Isolation {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.mail_dir);
        if let Some(dir) = self.sqlite_dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        let pg = self.pg_database.take();
        let prefix = self.redis_prefix.clone();
        let backend = self.backend;
        // Drop runs outside async; clean up on a thread with its own runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                if let Some(name) = pg {
                    if let Ok(admin) =
                        Database::connect(gatehouse::database::pool_options(&postgres_admin_url()))
                            .await
                    {
                        let _ = admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            ))
                            .await;
                    }
                }
                if backend == Backend::Postgres {
                    if let Ok(store) = redis_store(&prefix) {
                        let _ = store.clear_prefix().await;
                    }
                }
            });
        })
        .join();
    }
}

pub fn redis_store(prefix: &str) -> anyhow::Result<RedisStore> {
    let mut settings = Settings::built_in()?.redis;
    settings.key_prefix = prefix.to_owned();
    settings.url = Some(SecretString::from(redis_url()));
    RedisStore::connect(&settings)
}

#[allow(dead_code)]
pub struct TestApp {
    pub address: String,
    pub port: u16,
    /// `http://127.0.0.1:PORT` of the metrics listener, unless a test turned it off.
    pub metrics_address: Option<String>,
    pub http: reqwest::Client,
    pub settings: Settings,
    /// None for a server in a child process (see [`TestApp::at`]).
    handle: Option<ServerHandle>,
    pub isolation: Arc<Isolation>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> Self {
        let isolation = Arc::new(Isolation::new(backend).await);
        Self::spawn_on(isolation, tweak).await
    }

    /// Another server on the same database and store (a second instance, or a restart).
    pub async fn spawn_on(isolation: Arc<Isolation>, tweak: impl FnOnce(&mut Settings)) -> Self {
        captured_logs();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut settings = isolation.settings(port);
        tweak(&mut settings);
        let clock: SharedClock = isolation.clock.clone();
        let app = Application::build_with_clock(settings.clone(), listener, clock)
            .await
            .expect("server starts");
        let handle = app.handle();
        let metrics_address = app.metrics_address().map(|a| format!("http://{a}"));
        tokio::spawn(app.run_until_stopped());
        Self {
            address: format!("http://127.0.0.1:{port}"),
            port,
            metrics_address,
            http: http_client(),
            settings,
            handle: Some(handle),
            isolation,
        }
    }

    /// The client side of a server running elsewhere on `isolation` (a child process on
    /// `port` with the issuer `issuer`), with a cookie jar of its own.
    pub fn at(isolation: Arc<Isolation>, port: u16, issuer: &str) -> Self {
        let mut settings = isolation.settings(port);
        settings.server.issuer = issuer.to_owned();
        Self {
            address: format!("http://127.0.0.1:{port}"),
            port,
            metrics_address: None,
            http: http_client(),
            settings,
            handle: None,
            isolation,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    pub async fn stop(&self) {
        if let Some(handle) = &self.handle {
            handle.stop(true).await;
        }
    }

    /// Moves the clock of every server on this isolation forward.
    pub fn advance_clock(&self, by: Duration) {
        self.isolation.clock.advance(by);
    }
}

/// A browser-like client: keeps cookies, never follows redirects (tests read them).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A private redis-server on a free port, so stopping it disturbs no other test.
pub struct PrivateRedis {
    pub port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = Self { port, child: None };
        redis.resume();
        redis
    }

    pub fn resume(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server must be installed");
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("private redis did not start");
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

impl PrivateRedis {
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl TestApp {
    /// Registers an extra client directly in this server's database.
    pub async fn with_client(&self, client: &gatehouse::clients::Client) {
        let db = self.isolation.connect().await;
        let now = gatehouse::clock::Clock::now(self.isolation.clock.as_ref());
        gatehouse::clients::store::insert_if_absent(&db, client, now)
            .await
            .unwrap();
        db.close().await.ok();
    }
}
