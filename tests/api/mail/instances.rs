//! Several instances on one outbox: each message is sent exactly once, and a stopped
//! instance leaves what it had not sent to the others.

use std::collections::BTreeMap;
use std::time::Duration;

use super::smtp_server::SmtpServer;
use super::{notice, outbox, outbox_until, queue, smtp_to};
use crate::backend_tests;
use crate::helpers::{Backend, TestApp};

backend_tests!(
    two_instances_send_each_message_exactly_once,
    a_stopped_instance_leaves_its_queue_to_the_next,
);

async fn two_instances_send_each_message_exactly_once(backend: Backend) {
    let server = SmtpServer::start().await;
    let first = TestApp::spawn_with(backend, smtp_to(&server)).await;
    let _second = TestApp::spawn_on(first.isolation.clone(), smtp_to(&server)).await;
    let messages: Vec<_> = (0..50)
        .map(|n| notice(&format!("user{n}@example.com"), &format!("message {n}")))
        .collect();

    queue(&first, &messages).await;
    let rows = outbox_until(&first, "all sent", |r| {
        r.iter().all(|m| m.sent_at.is_some())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    assert_eq!(rows.len(), 50);
    assert!(rows.iter().all(|r| r.attempts == 1), "each claimed once");
    let mut copies: BTreeMap<String, usize> = BTreeMap::new();
    for message in server.received() {
        *copies.entry(message.to.join(",")).or_default() += 1;
    }
    assert_eq!(copies.len(), 50, "every message arrived");
    let twice: Vec<_> = copies.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
}

async fn a_stopped_instance_leaves_its_queue_to_the_next(backend: Backend) {
    let server = SmtpServer::start().await;
    let first = TestApp::spawn_with(backend, smtp_to(&server)).await;
    first.stop().await;
    // The stop returns before the server task has stopped its mail worker.
    tokio::time::sleep(Duration::from_millis(300)).await;

    queue(&first, &[notice("ada@example.com", "Still there")]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(server.attempts(), 0, "a stopped worker sends nothing");
    assert_eq!(outbox(&first).await[0].attempts, 0);
    let _next = TestApp::spawn_on(first.isolation.clone(), smtp_to(&server)).await;
    let rows = outbox_until(&first, "sent by the next", |r| r[0].sent_at.is_some()).await;

    assert_eq!(rows[0].attempts, 1);
    assert_eq!(server.received().len(), 1);
}
