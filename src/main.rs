//! The `gatehouse` binary: `serve` (default), `migrate`, `check-config`.

use std::process::ExitCode;

use gatehouse::settings::Settings;
use gatehouse::startup::Application;
use gatehouse::{database, telemetry};

const USAGE: &str = "usage: gatehouse [serve | migrate | check-config | gen-key]
  serve         run the server (default)
  migrate       apply database migrations and exit
  check-config  load and validate the configuration and exit
  gen-key       print a new value for keys.encryption_key
configuration: config/default.toml, the file in GATEHOUSE_CONFIG, then GATEHOUSE__SECTION__KEY variables";

#[tokio::main]
async fn main() -> ExitCode {
    release_large_allocations();
    let command = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "serve".to_owned());
    match run(&command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line, the whole cause chain, no backtrace.
            eprintln!("gatehouse: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Request logs go out in batches (see `telemetry::BatchedStdout`) unless the interval is 0.
fn init_logging(settings: &gatehouse::settings::LogSettings) -> Option<telemetry::FlushGuard> {
    if settings.flush_interval_ms == 0 {
        telemetry::init(settings, std::io::stdout);
        return None;
    }
    let interval = std::time::Duration::from_millis(settings.flush_interval_ms);
    let output = telemetry::BatchedStdout::start(interval);
    telemetry::init(settings, output.clone());
    Some(output.flush_guard())
}

/// Argon2's 19 MiB buffers come and go with login bursts. glibc raises its mmap threshold
/// after the first such free and then keeps later buffers in its heap for good; a fixed
/// threshold keeps every allocation over 1 MiB on mmap, so freeing one returns it to the OS.
fn release_large_allocations() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes the allocator; called before any other thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

async fn run(command: &str) -> anyhow::Result<()> {
    match command {
        "serve" => serve().await,
        "migrate" => {
            let settings = Settings::load()?;
            telemetry::init(&settings.log, std::io::stdout);
            let db = database::connect(&settings.database).await?;
            database::migrate(&db).await?;
            println!("migrations applied");
            Ok(())
        }
        "check-config" => {
            let settings = Settings::load()?;
            println!("configuration OK (issuer {})", settings.server.issuer);
            Ok(())
        }
        "gen-key" => {
            use secrecy::ExposeSecret;
            println!(
                "{}",
                gatehouse::startup::new_encryption_key().expose_secret()
            );
            Ok(())
        }
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => anyhow::bail!("unknown command {other:?}\n{USAGE}"),
    }
}

async fn serve() -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let settings = Settings::load()?;
    let log_output = init_logging(&settings.log);
    let app = Application::build(settings).await?;
    let startup_ms = started.elapsed().as_millis();
    tracing::info!(port = app.port(), startup_ms, "gatehouse is listening");
    // Start-up lines at once, for whoever is watching the log come up.
    if let Some(output) = &log_output {
        output.flush();
    }
    app.run_until_stopped().await?;
    tracing::info!("gatehouse stopped");
    Ok(())
}
