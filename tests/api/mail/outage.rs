//! A database outage stops delivery, never the worker: it logs, tries again each tick, and
//! delivers once the database is back.

use std::time::Duration;

use sea_orm::{ConnectionTrait, Database};

use super::smtp_server::SmtpServer;
use super::{notice, outbox_until, queue, smtp_to};
use crate::helpers::{Backend, TestApp, captured_logs, postgres_admin_url};

/// Refuses new connections to `database` and ends the open ones, or lets them in again.
async fn cut(database: &str, cut: bool) {
    let admin = Database::connect(gatehouse::database::pool_options(&postgres_admin_url()))
        .await
        .unwrap();
    let allow = if cut { "false" } else { "true" };
    let sql = format!("ALTER DATABASE {database} ALLOW_CONNECTIONS {allow}");
    admin.execute_unprepared(&sql).await.unwrap();
    if cut {
        let sql = format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'"
        );
        admin.execute_unprepared(&sql).await.unwrap();
    }
    admin.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_waits_out_a_database_outage() {
    let server = SmtpServer::start().await;
    server.refuse_next(1);
    let app = TestApp::spawn_with(Backend::Postgres, smtp_to(&server)).await;
    let database = url::Url::parse(&app.isolation.database_url).unwrap();
    let database = database.path().trim_start_matches('/').to_owned();
    queue(&app, &[notice("ada@example.com", "Outage")]).await;
    outbox_until(&app, "a first failure", |r| {
        r[0].attempts == 1 && r[0].claimed_until.is_none()
    })
    .await;

    cut(&database, true).await;
    app.advance_clock(Duration::from_secs(app.settings.mail.retry_max_secs));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(server.attempts(), 1, "nothing can be claimed meanwhile");
    cut(&database, false).await;
    let rows = outbox_until(&app, "the message sent", |r| r[0].sent_at.is_some()).await;

    assert_eq!(rows[0].attempts, 2);
    assert_eq!(server.received().len(), 1);
    let logs = String::from_utf8_lossy(&captured_logs().lock().unwrap()).into_owned();
    assert!(logs.contains("mail outbox unavailable; trying again later"));
}
