//! SMTP delivery: within seconds, retried with backoff while the relay refuses, given up
//! (and kept) after `mail.max_attempts`.

use std::time::{Duration, Instant};

use gatehouse::settings::Settings;

use super::smtp_server::SmtpServer;
use super::{notice, now, outbox, outbox_until, queue, smtp_to};
use crate::backend_tests;
use crate::helpers::{Backend, TestApp, captured_logs};

backend_tests!(
    a_queued_message_is_delivered_within_seconds_with_both_parts,
    a_refusing_relay_is_retried_with_backoff_then_delivered_once,
    after_max_attempts_the_message_is_given_up_logged_and_kept,
);

async fn a_queued_message_is_delivered_within_seconds_with_both_parts(backend: Backend) {
    let server = SmtpServer::start().await;
    let app = TestApp::spawn_with(backend, smtp_to(&server)).await;
    let started = Instant::now();

    queue(&app, &[notice("ada@example.com", "Confirm your email")]).await;
    let rows = outbox_until(&app, "the message sent", |r| r[0].sent_at.is_some()).await;

    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(rows[0].attempts, 1);
    assert_eq!(rows[0].claimed_until, None);
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].to, ["<ada@example.com>"]);
    assert!(received[0].from.starts_with("<no-reply@localhost>"));
    let mail = super::parse_eml(std::path::Path::new("smtp"), received[0].data.as_bytes());
    assert_eq!(mail.subject, "Confirm your email");
    assert_eq!(mail.content_type, "multipart/alternative");
    assert_eq!(
        mail.first_url(),
        Some("https://id.example.com/verify?token=abc&next=1")
    );
    assert!(
        mail.html
            .contains("href=\"https://id.example.com/verify?token=abc&#38;next=1\"")
    );
}

async fn a_refusing_relay_is_retried_with_backoff_then_delivered_once(backend: Backend) {
    let server = SmtpServer::start().await;
    server.refuse_next(2);
    let app = TestApp::spawn_with(backend, smtp_to(&server)).await;
    let base = Duration::from_secs(app.settings.mail.retry_base_secs);

    queue(&app, &[notice("ada@example.com", "Reset your password")]).await;
    let first = outbox_until(&app, "a first failure", |r| failed_attempts(r, 1)).await;
    let failed_at = now(&app);
    // Nothing happens before the backoff is over, however often the worker polls.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(server.attempts(), 1);
    let wait = first[0].next_attempt_at - failed_at.millis();
    assert!(wait > 25_000 && wait <= 30_000, "{wait} ms");
    assert!(
        first[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains(&server.token)
    );

    app.advance_clock(base);
    let second = outbox_until(&app, "a second failure", |r| failed_attempts(r, 2)).await;
    let wait = second[0].next_attempt_at - now(&app).millis();
    assert!(wait > 55_000 && wait <= 60_000, "doubled: {wait} ms");
    app.advance_clock(base * 2);
    let sent = outbox_until(&app, "the message sent", |r| r[0].sent_at.is_some()).await;

    assert_eq!(sent[0].attempts, 3);
    assert_eq!(sent[0].last_error, None);
    assert_eq!(server.attempts(), 3);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.received().len(), 1, "delivered once");
}

async fn after_max_attempts_the_message_is_given_up_logged_and_kept(backend: Backend) {
    let server = SmtpServer::start().await;
    server.refuse_next(u32::MAX);
    let smtp = smtp_to(&server);
    let tweak = move |s: &mut Settings| {
        smtp(s);
        s.mail.max_attempts = 3;
    };
    let app = TestApp::spawn_with(backend, tweak).await;
    let max_wait = Duration::from_secs(app.settings.mail.retry_max_secs);

    queue(&app, &[notice("ada@example.com", "Your account")]).await;
    for attempt in 1..3 {
        outbox_until(&app, "a failure", |r| failed_attempts(r, attempt)).await;
        app.advance_clock(max_wait);
    }
    let rows = outbox_until(&app, "giving up", |r| r[0].failed_at.is_some()).await;

    assert_eq!(rows[0].attempts, 3);
    assert_eq!(rows[0].sent_at, None);
    assert_eq!(rows[0].claimed_until, None);
    assert!(rows[0].last_error.as_deref().unwrap().contains("451"));
    app.advance_clock(max_wait * 2);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(server.attempts(), 3, "never tried again");
    assert_eq!(outbox(&app).await.len(), 1, "kept");
    let logs = String::from_utf8_lossy(&captured_logs().lock().unwrap()).into_owned();
    let given_up = logs
        .lines()
        .find(|l| l.contains("mail given up") && l.contains(&server.token))
        .expect("the give-up is logged");
    assert!(
        given_up.contains("WARN") && given_up.contains("attempts=3"),
        "{given_up}"
    );
}

/// The one message failed `n` times and is waiting (claim released) for its next attempt.
fn failed_attempts(rows: &[gatehouse::entities::mail_outbox::Model], n: i32) -> bool {
    let row = &rows[0];
    row.attempts == n && row.claimed_until.is_none() && row.last_error.is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_come_from_the_password_file_without_its_newline() {
    let server = SmtpServer::start().await;
    let secret = std::env::temp_dir().join(format!("gatehouse-smtp-{}", uuid::Uuid::new_v4()));
    std::fs::write(&secret, "s3cret\n").unwrap();
    let (smtp, file) = (smtp_to(&server), secret.clone());
    let app = TestApp::spawn_with(Backend::Sqlite, move |s| {
        smtp(s);
        s.mail.smtp.username = Some("gatehouse".into());
        s.mail.smtp.password_file = Some(file);
    })
    .await;
    std::fs::remove_file(&secret).unwrap();

    queue(&app, &[notice("ada@example.com", "Signed in")]).await;
    outbox_until(&app, "the message sent", |r| r[0].sent_at.is_some()).await;

    assert_eq!(server.logins(), ["\0gatehouse\0s3cret"]);
}
