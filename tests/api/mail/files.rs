//! The file transport, the embedded default: one RFC 5322 `.eml` per message in
//! `mail.file_dir`, written whole, and logged with its path.

use std::time::Duration;

use super::{mail_files, next_mail_to, notice, outbox_until, queue};
use crate::backend_tests;
use crate::helpers::{Backend, TestApp, captured_logs};

backend_tests!(
    each_message_becomes_one_eml_file_and_a_log_line,
    a_bad_recipient_is_given_up_at_once_and_kept_while_sent_mail_is_purged,
);

async fn each_message_becomes_one_eml_file_and_a_log_line(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    queue(
        &app,
        &[notice(
            "Ada Lovelace <ada@example.com>",
            "Confirm your email",
        )],
    )
    .await;
    let mail = next_mail_to(&app, "ada@example.com").await;

    assert_eq!(mail.to, "ada@example.com");
    assert_eq!(mail.to_name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(mail.subject, "Confirm your email");
    assert_eq!(mail.content_type, "multipart/alternative");
    assert_eq!(
        mail.first_url(),
        Some("https://id.example.com/verify?token=abc&next=1")
    );
    assert!(mail.text.contains("Someone asked to use this address."));
    assert!(mail.html.contains("<h1"), "{}", mail.html);
    let names: Vec<String> = std::fs::read_dir(&app.isolation.mail_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
    assert_eq!(mail_files(&app.isolation.mail_dir).len(), 1);
    let rows = outbox_until(&app, "the message sent", |r| r[0].sent_at.is_some()).await;
    assert_eq!(rows[0].attempts, 1);
    let logs = String::from_utf8_lossy(&captured_logs().lock().unwrap()).into_owned();
    let line = format!("mail written path={}", mail.path.display());
    assert!(logs.contains(&line), "no {line:?} in the logs");
}

async fn a_bad_recipient_is_given_up_at_once_and_kept_while_sent_mail_is_purged(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let keep = Duration::from_secs(u64::from(app.settings.mail.keep_sent_days) * 86_400);

    queue(
        &app,
        &[
            notice("ada@example.com", "Delivered"),
            notice("not an address", "Undeliverable"),
        ],
    )
    .await;
    let rows = outbox_until(&app, "both settled", |r| {
        r[0].sent_at.is_some() && r[1].failed_at.is_some()
    })
    .await;
    assert_eq!(rows[1].attempts, 1, "not retried");
    assert!(rows[1].last_error.as_deref().unwrap().contains("recipient"));
    app.advance_clock(keep + Duration::from_secs(3600));
    let rows = outbox_until(&app, "the sent one purged", |r| r.len() == 1).await;

    assert_eq!(rows[0].subject, "Undeliverable", "given-up mail is kept");
    assert_eq!(mail_files(&app.isolation.mail_dir).len(), 1, "files stay");
}
