//! The audit log: a row for each kind of security event, and no secret in any of them.

use std::collections::BTreeSet;
use std::time::Duration;

use sea_orm::{ConnectionTrait, Statement};

use super::*;
use crate::backend_tests;
use crate::helpers::{Backend, TestApp};

backend_tests!(every_security_event_is_audited_without_its_secrets);

/// The kinds the flow below must have produced.
const KINDS: [&str; 13] = [
    "login_succeeded",
    "login_failed",
    "lockout_started",
    "rate_limited",
    "logout",
    "session_ended",
    "consent_granted",
    "token_issued",
    "token_refreshed",
    "token_revoked",
    "refresh_reuse_detected",
    "code_replay_detected",
    "client_auth_failed",
];

async fn every_security_event_is_audited_without_its_secrets(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.limits.token_failures_per_ip.limit = 3).await;
    let mut secrets = vec![PASSWORD_OF_USER.to_owned(), WEB_SECRET.to_owned()];

    // A code flow (sign-in, consent), its tokens, a refresh, a reuse and a code replay.
    let (code, verifier) = obtain_code(&app, SPA, "openid offline_access").await;
    let tokens: serde_json::Value = exchange_code(&app, SPA, &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let first_rt = tokens["refresh_token"].as_str().unwrap().to_owned();
    let refreshed: serde_json::Value = refresh(&app, SPA, &first_rt).await.json().await.unwrap();
    assert_eq!(refresh(&app, SPA, &first_rt).await.status(), 400, "reuse");
    assert_eq!(
        exchange_code(&app, SPA, &code, &verifier).await.status(),
        400,
        "replay"
    );
    for field in ["access_token", "id_token", "refresh_token"] {
        secrets.push(tokens[field].as_str().unwrap().to_owned());
    }
    secrets.push(refreshed["refresh_token"].as_str().unwrap().to_owned());
    secrets.extend([code, verifier]);

    revoke_a_fresh_refresh_token(&app, &mut secrets).await;
    failures_and_a_lockout(&app, &mut secrets).await;
    sign_outs(&app, tokens["id_token"].as_str().unwrap()).await;
    client_failures_until_limited(&app).await;

    let rows = audit_rows(&app, KINDS.len()).await;
    let kinds: BTreeSet<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    for kind in KINDS {
        assert!(kinds.contains(kind), "{kind} was audited; got {kinds:?}");
    }
    let text: String = rows.iter().map(|r| r.1.clone()).collect();
    for detail in [
        "wrong_password",
        "unknown_user",
        "locked",
        "authorization_code",
    ] {
        assert!(text.contains(detail), "{detail} in the details");
    }
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "a secret in the audit log");
    }
    let b = browser(None);
    assert!(
        sign_in(&app, &b, "admin@example.com", "Admin@123")
            .await
            .signed_in()
    );
    let page = b.get(app.url("/account/sessions")).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("Recent activity") && page.contains("Session ended"));
}

async fn revoke_a_fresh_refresh_token(app: &TestApp, secrets: &mut Vec<String>) {
    let (code, verifier) = obtain_code(app, SPA, "openid offline_access").await;
    let tokens: serde_json::Value = exchange_code(app, SPA, &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let rt = tokens["refresh_token"].as_str().unwrap();
    let revoked = reqwest::Client::new()
        .post(app.url("/revoke"))
        .form(&[("token", rt), ("client_id", SPA)])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    secrets.extend([code, verifier, rt.to_owned()]);
}

async fn failures_and_a_lockout(app: &TestApp, secrets: &mut Vec<String>) {
    let b = browser(None);
    for n in 0..5 {
        let guess = format!("Guess-{n}-Secret");
        assert!(
            sign_in(app, &b, USER_EMAIL, &guess)
                .await
                .is_wrong_password()
        );
        secrets.push(guess);
    }
    let locked = sign_in(app, &b, USER_EMAIL, PASSWORD_OF_USER).await;
    assert!(locked.is_wrong_password(), "locked");
    let unknown = sign_in(app, &b, "nobody@example.com", "Unknown-Secret-1").await;
    assert!(unknown.is_wrong_password());
    secrets.push("Unknown-Secret-1".into());
}

/// A sign-out through RP-initiated logout, and a session ended by another user's sign-in.
async fn sign_outs(app: &TestApp, id_token: &str) {
    let url = format!("{}?id_token_hint={id_token}", app.url("/logout"));
    let out = app.http.get(url).send().await.unwrap();
    assert!(out.status().is_success() || out.status().is_redirection());
    let b = browser(None);
    assert!(
        sign_in(app, &b, "admin@example.com", "Admin@123")
            .await
            .signed_in()
    );
    assert!(
        sign_in(app, &b, "pm@example.com", "PM@123")
            .await
            .signed_in()
    );
}

async fn client_failures_until_limited(app: &TestApp) {
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let answer = reqwest::Client::new()
            .post(app.url("/token"))
            .basic_auth(WEB, Some("not-the-secret"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        statuses.push(answer.status().as_u16());
    }
    // The reuse and the replay above were this address's first two failures.
    assert_eq!(
        statuses,
        [401, 429, 429, 429, 429],
        "limited after three failures"
    );
}

/// (kind, the whole row as text), once at least `kinds` kinds have been written.
async fn audit_rows(app: &TestApp, kinds: usize) -> Vec<(String, String)> {
    let db = app.isolation.connect().await;
    let sql = "SELECT kind, kind || ' ' || COALESCE(user_id, '') || ' ' || \
               COALESCE(client_id, '') || ' ' || ip || ' ' || user_agent || ' ' || \
               request_id || ' ' || detail FROM audit_events";
    for _ in 0..100 {
        let stmt = Statement::from_string(db.get_database_backend(), sql);
        let rows = db.query_all_raw(stmt).await.unwrap();
        let rows: Vec<(String, String)> = rows
            .iter()
            .map(|r| {
                (
                    r.try_get_by_index(0).unwrap(),
                    r.try_get_by_index(1).unwrap(),
                )
            })
            .collect();
        let distinct: BTreeSet<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        if distinct.len() >= kinds {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the audit writer did not write every kind");
}
