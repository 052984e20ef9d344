//! The soak driver (benches/soak/run.sh starts the server and runs it): honest code flows
//! and client_credentials grants, a password-guessing attacker and a flood of malformed
//! requests, all at once against one server for a bounded time, then a report. Exits
//! non-zero on any 5xx or when fewer than 99% of the honest requests succeeded.
//!
//! usage: soak BASE_URL SECONDS
//! env:   HONEST_USERS (4), THINK_MS (100), CC_RATE (50), ATTACK_RATE (20), FLOOD_RATE (200)
//!
//! The server must trust the loopback proxy (`server.trusted_proxies = ["127.0.0.1/32"]`):
//! every request names its sender in `X-Forwarded-For`, so the attacker (203.0.113.7), the
//! flood (192.0.2.66) and the honest users (198.51.100.0/24) are different clients to it.

mod attacker;
mod browser;
mod flood;
mod honest;
mod pace;
mod raw;
mod report;
mod stats;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

pub struct Config {
    pub base: String,
    pub duration: Duration,
    pub users: usize,
    pub think: Duration,
    pub cc_rate: u32,
    pub attack_rate: u32,
    pub flood_rate: u32,
}

fn env_or(name: &str, default: u64) -> anyhow::Result<u64> {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}={value:?} is not a number")),
        Err(_) => Ok(default),
    }
}

impl Config {
    fn load() -> anyhow::Result<Self> {
        let args: Vec<String> = std::env::args().collect();
        let (Some(base), Some(seconds)) = (args.get(1), args.get(2)) else {
            anyhow::bail!("usage: soak BASE_URL SECONDS");
        };
        anyhow::ensure!(
            base.starts_with("http://"),
            "BASE_URL must be http://host:port"
        );
        let rate =
            |name, default| -> anyhow::Result<u32> { Ok(env_or(name, default)?.try_into()?) };
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            duration: Duration::from_secs(seconds.parse()?),
            users: env_or("HONEST_USERS", 4)?.try_into()?,
            think: Duration::from_millis(env_or("THINK_MS", 100)?),
            cc_rate: rate("CC_RATE", 50)?,
            attack_rate: rate("ATTACK_RATE", 20)?,
            flood_rate: rate("FLOOD_RATE", 200)?,
        })
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::load() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("soak: {e:#}");
            return ExitCode::from(2);
        }
    };
    match run(&config).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("soak: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(config: &Config) -> anyhow::Result<bool> {
    let ctx = browser::Ctx::new(&config.base, config.duration)?;
    let ready = ctx
        .http
        .get(ctx.url(gatehouse::paths::READYZ))
        .send()
        .await?;
    anyhow::ensure!(
        ready.status() == 200,
        "the server is not ready: {}",
        ready.status()
    );
    honest::check_addressing(&config.base).await?;
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for user in 0..config.users {
        tasks.spawn(honest::user(ctx.clone(), user, config.users, config.think));
    }
    tasks.spawn(honest::client_credentials(ctx.clone(), config.cc_rate));
    tasks.spawn(attacker::run(ctx.clone(), config.attack_rate));
    tasks.spawn(flood::run(ctx.clone(), config.flood_rate));
    // Work in flight at the deadline finishes (every request has a 15 s timeout).
    let mut crashed = 0;
    let finished = tokio::time::timeout(config.duration + Duration::from_secs(60), async {
        while let Some(joined) = tasks.join_next().await {
            if let Err(e) = joined {
                eprintln!("soak: a traffic task failed: {e}");
                crashed += 1;
            }
        }
    })
    .await;
    anyhow::ensure!(
        finished.is_ok(),
        "traffic did not stop within 60 s of the deadline"
    );
    let passed = report::print(&ctx, config, started.elapsed());
    Ok(passed && crashed == 0)
}
