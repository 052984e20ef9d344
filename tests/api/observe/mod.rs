//! What an operator watches: `/metrics` on its own listener (read as a scraper reads it,
//! and by promtool), each counter moved by what it counts, request ids on every answer,
//! traces exported to a real OTLP receiver, and the alert rules and dashboard in deploy/.

mod counters;
mod deploy;
pub(crate) mod exposition;
mod mail;
mod outages;
mod request_ids;
mod scrape;
mod traces;

use std::io::Write;
use std::process::{Command, Stdio};

use crate::helpers::TestApp;
use exposition::Scrape;

/// Scrapes `app`'s metrics listener and reads the answer strictly.
pub async fn scrape(app: &TestApp) -> Scrape {
    let text = scrape_text(app).await;
    exposition::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

pub async fn scrape_text(app: &TestApp) -> String {
    let address = app.metrics_address.as_ref().expect("a metrics listener");
    let response = reqwest::get(format!("{address}/metrics")).await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    response.text().await.unwrap()
}

/// promtool, from Debian's `prometheus` package (`.ci/run` installs it): required, like
/// redis-server and chromedriver, so its checks never pass unseen.
pub const PROMTOOL: &str = "promtool";

/// Runs promtool with `args`, `stdin` piped in; panics with its output unless it succeeds.
pub fn promtool(args: &[&str], stdin: &str) -> String {
    let mut child = Command::new(PROMTOOL)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool must be installed (apt-get install prometheus)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool {args:?} failed:\n{said}");
    said
}
