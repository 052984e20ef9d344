//! The `gatehouse` binary: `serve` (default), `migrate`, `check-config`, `gen-key`,
//! `keys rewrap`, and the operator's commands (`client`; see `gatehouse::cli`).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use gatehouse::keys::MasterKey;
use gatehouse::settings::Settings;
use gatehouse::startup::Application;
use gatehouse::{database, telemetry};

const USAGE: &str = "usage: gatehouse [serve | migrate | check-config | gen-key | keys | client | user | role | registration-token]
  serve         run the server (default)
  migrate       apply database migrations and exit
  check-config  load and validate the configuration and exit
  gen-key       print a new value for keys.encryption_key
  keys rewrap --old-key-file PATH --new-key-file PATH
                re-encrypt every stored secret under the new key, in one transaction (a
                rerun is harmless); --old-key / --new-key VALUE work too, but prefer files:
                arguments show in `ps` and in shell history
  keys list|rotate|revoke
                the signing keys: states and times, a new key (published before it signs),
                an emergency revocation (gatehouse keys --help)
  client ...    register and manage OAuth clients (gatehouse client --help)
  user ...      create users (password on stdin), set roles, disable (gatehouse user --help)
  role ...      create and list roles (gatehouse role --help)
configuration: config/default.toml, the file in GATEHOUSE_CONFIG, then GATEHOUSE__SECTION__KEY variables";

#[tokio::main]
async fn main() -> ExitCode {
    release_large_allocations();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if gatehouse::cli::handles(&args) {
        return gatehouse::cli::run(&args).await;
    }
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line, the whole cause chain, no backtrace.
            eprintln!("gatehouse: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Request logs go out in batches (see `telemetry::BatchedStdout`) unless the interval is 0;
/// spans go to the OTLP collector when `otel.endpoint` is set.
fn init_logging(
    settings: &Settings,
) -> anyhow::Result<(Option<telemetry::FlushGuard>, Option<telemetry::Traces>)> {
    let (log, otel) = (&settings.log, &settings.otel);
    if log.flush_interval_ms == 0 {
        let traces = telemetry::init_with_traces(log, otel, std::io::stdout)?;
        return Ok((None, traces));
    }
    let interval = std::time::Duration::from_millis(log.flush_interval_ms);
    let output = telemetry::BatchedStdout::start(interval);
    let traces = telemetry::init_with_traces(log, otel, output.clone())?;
    Ok((Some(output.flush_guard()), traces))
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

async fn run(args: &[String]) -> anyhow::Result<()> {
    let command = args.first().map_or("serve", String::as_str);
    match command {
        "serve" => serve().await,
        "keys" => match args.get(1).map(String::as_str) {
            Some("rewrap") => rewrap(&args[2..]).await,
            _ => anyhow::bail!("the keys commands are rewrap, list, rotate and revoke\n{USAGE}"),
        },
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
            let tls = match gatehouse::startup::check_tls(&settings)? {
                true => ", TLS certificate and key read",
                false => "",
            };
            println!("configuration OK (issuer {}{tls})", settings.server.issuer);
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
    let (log_output, traces) = init_logging(&settings)?;
    let app = Application::build(settings).await?;
    let startup_ms = started.elapsed().as_millis();
    tracing::info!(port = app.port(), startup_ms, "gatehouse is listening");
    // Start-up lines at once, for whoever is watching the log come up.
    if let Some(output) = &log_output {
        output.flush();
    }
    app.run_until_stopped().await?;
    if let Some(traces) = traces {
        // The last spans go out before the process ends (the exporter's thread blocks).
        tokio::task::spawn_blocking(move || traces.shutdown()).await?;
    }
    tracing::info!("gatehouse stopped");
    Ok(())
}

/// `keys rewrap`: every stored secret from the old master key to the new one.
async fn rewrap(args: &[String]) -> anyhow::Result<()> {
    let (old, new) = rewrap_keys(args)?;
    let settings = Settings::load()?;
    telemetry::init(&settings.log, std::io::stdout);
    // A rewrap to a key the servers are not configured with would stop their next start;
    // warn, not refuse: an offline rotation may rewrap before the configuration changes.
    let configured = MasterKey::configured(&settings);
    if matches!(configured, Ok(Some(current)) if !current.same_as(&new)) {
        eprintln!(
            "gatehouse: warning: the new key is not this configuration's keys.encryption_key; \
             servers started with this configuration will not decrypt the rewrapped secrets"
        );
    }
    let db = database::connect(&settings.database).await?;
    database::migrate(&db).await?;
    let report = gatehouse::keys::rewrap(&db, &old, &new).await?;
    println!("{report}");
    Ok(())
}

/// The old and new keys from `--old-key[-file]` and `--new-key[-file]` (`--flag value` or
/// `--flag=value`). Errors never repeat an argument that might be a key.
fn rewrap_keys(args: &[String]) -> anyhow::Result<(MasterKey, MasterKey)> {
    let (mut old, mut new) = (None, None);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag, Some(value.to_owned())),
            None => (arg.as_str(), None),
        };
        let slot = match flag {
            "--old-key" | "--old-key-file" => &mut old,
            "--new-key" | "--new-key-file" => &mut new,
            _ if looks_like_an_option(flag) => anyhow::bail!("unknown option {flag}\n{USAGE}"),
            _ => anyhow::bail!("unexpected argument (not shown: it may be a key)\n{USAGE}"),
        };
        let value = inline
            .or_else(|| args.next().cloned())
            .with_context(|| format!("{flag} needs a value"))?;
        anyhow::ensure!(slot.is_none(), "{flag}: the key is given twice");
        *slot = Some(match flag.strip_suffix("-file") {
            Some(_) => MasterKey::from_file(Path::new(&value), flag)?,
            None => MasterKey::from_encoded(&value, flag)?,
        });
    }
    let old = old.with_context(|| format!("--old-key-file (or --old-key) is required\n{USAGE}"))?;
    let new = new.with_context(|| format!("--new-key-file (or --new-key) is required\n{USAGE}"))?;
    Ok((old, new))
}

/// Short, lowercase and dashed: safe to repeat in an error (a key is 43 base64url characters).
fn looks_like_an_option(arg: &str) -> bool {
    arg.starts_with("--")
        && arg.len() <= 24
        && arg.bytes().all(|b| b == b'-' || b.is_ascii_lowercase())
}
