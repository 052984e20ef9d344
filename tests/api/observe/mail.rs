//! The outbox as the metrics show it: a refused delivery retried, then sent; one given up
//! after its last attempt; and what waits in between.

use std::time::{Duration, Instant};

use crate::backend_tests;
use crate::helpers::{Backend, TestApp};
use crate::mail::smtp_server::SmtpServer;
use crate::mail::{notice, outbox_until, queue, smtp_to};

use super::exposition::Scrape;
use super::scrape;

backend_tests!(deliveries_failures_and_the_outbox_are_counted);

/// Scrapes until `done` holds (the worker counts right after it records an outcome).
async fn scrape_until(app: &TestApp, what: &str, done: impl Fn(&Scrape) -> bool) -> Scrape {
    let start = Instant::now();
    loop {
        let scrape = scrape(app).await;
        if done(&scrape) {
            return scrape;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn failures(scrape: &Scrape, outcome: &str) -> f64 {
    scrape.value("gatehouse_mail_failures_total", &[("outcome", outcome)])
}

fn outbox(scrape: &Scrape, state: &str) -> f64 {
    scrape.value("gatehouse_mail_outbox_messages", &[("state", state)])
}

async fn deliveries_failures_and_the_outbox_are_counted(backend: Backend) {
    let server = SmtpServer::start().await;
    server.refuse_next(1);
    let smtp = smtp_to(&server);
    let app = TestApp::spawn_with(backend, move |s| {
        smtp(s);
        s.mail.max_attempts = 2;
    })
    .await;
    let retry = Duration::from_secs(app.settings.mail.retry_max_secs);

    queue(&app, &[notice("ada@example.com", "First")]).await;
    let refused = scrape_until(&app, "a retry", |s| failures(s, "retried") == 1.0).await;
    app.advance_clock(retry);
    let sent = scrape_until(&app, "a delivery", |s| {
        s.value("gatehouse_mail_sent_total", &[]) == 1.0
    })
    .await;
    server.refuse_next(u32::MAX);
    queue(&app, &[notice("bob@example.com", "Second")]).await;
    scrape_until(&app, "a second retry", |s| failures(s, "retried") == 2.0).await;
    app.advance_clock(retry);
    let given_up = scrape_until(&app, "a message given up", |s| {
        failures(s, "given_up") == 1.0
    })
    .await;

    assert_eq!(
        outbox(&refused, "pending"),
        1.0,
        "the refused message waits"
    );
    let age = refused.value("gatehouse_mail_outbox_oldest_pending_age_seconds", &[]);
    assert!(age < 60.0, "queued just now: {age}");
    assert_eq!(
        (outbox(&sent, "pending"), failures(&sent, "given_up")),
        (0.0, 0.0)
    );
    assert_eq!(outbox(&given_up, "given_up"), 1.0);
    assert_eq!(outbox(&given_up, "pending"), 0.0);
    assert_eq!(given_up.value("gatehouse_mail_sent_total", &[]), 1.0);
    let rows = outbox_until(&app, "both settled", |r| r.len() == 2).await;
    assert!(rows[0].sent_at.is_some() && rows[1].failed_at.is_some());
}
