//! Two real `gatehouse serve` processes on one PostgreSQL + Redis, one of them killed in the
//! middle of a refresh load: with SIGKILL (a crash) and with SIGTERM (a drain: `/readyz`
//! turns 503 at once, requests are still served, then the listener closes). Either way no
//! refresh token, session or code is lost: the other instance serves them all. And
//! `/readyz` is 503 while the signing keys cannot be loaded.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, ModelTrait};

use crate::flow::*;
use crate::helpers::{Backend, Isolation, TestApp};
use crate::process::Instance;
use crate::topology::free_port;

/// What one user holds: a browser session, a refresh token and a code not yet redeemed.
struct Holder {
    browser: TestApp,
    refresh_token: String,
    code: (String, String),
}

async fn holder(iso: &Arc<Isolation>, port: u16, issuer: &str) -> Holder {
    let browser = TestApp::at(iso.clone(), port, issuer);
    let (code, verifier) = obtain_code(&browser, WEB, "openid offline_access").await;
    let response = exchange_code(&browser, WEB, &code, &verifier).await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let refresh_token = body["refresh_token"].as_str().unwrap().to_owned();
    let code = obtain_code(&browser, WEB, "openid").await;
    Holder {
        browser,
        refresh_token,
        code,
    }
}

/// Where the load goes, as a load balancer would send it: to the first instance until its
/// `/readyz` fails (or a request to it cannot be delivered), then to the second.
struct Router {
    target: AtomicU16,
    second: u16,
    stop: AtomicBool,
    refreshed: AtomicUsize,
    undelivered: AtomicUsize,
    refused: std::sync::Mutex<Vec<String>>,
}

impl Router {
    /// Polls the first instance's `/readyz` every 50 ms, as a load balancer's health check.
    async fn watch(self: Arc<Self>, first: u16) {
        let url = format!("http://127.0.0.1:{first}/readyz");
        while !self.stop.load(Ordering::Relaxed) {
            let ready = reqwest::get(&url).await.is_ok_and(|r| r.status() == 200);
            if !ready {
                self.target.store(self.second, Ordering::Relaxed);
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Refreshes `token` again and again wherever the router points; a request that could
    /// not be delivered is sent again, with the same token, to the second instance.
    async fn refresh_loop(self: Arc<Self>, mut token: String) -> String {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        while !self.stop.load(Ordering::Relaxed) {
            let port = self.target.load(Ordering::Relaxed);
            let form = [("grant_type", "refresh_token"), ("refresh_token", &token)];
            let sent = http
                .post(format!("http://127.0.0.1:{port}/token"))
                .basic_auth(WEB, Some(WEB_SECRET))
                .form(&form)
                .send()
                .await;
            let response = match sent {
                Ok(response) => response,
                Err(_) => {
                    self.undelivered.fetch_add(1, Ordering::Relaxed);
                    self.target.store(self.second, Ordering::Relaxed);
                    continue;
                }
            };
            let status = response.status();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            if status == 200 {
                token = body["refresh_token"].as_str().unwrap().to_owned();
                self.refreshed.fetch_add(1, Ordering::Relaxed);
            } else {
                self.refused
                    .lock()
                    .unwrap()
                    .push(format!("{status} {body}"));
                return token;
            }
        }
        token
    }
}

/// Starts two instances and four holders on the first, runs the load, sends `signal` to
/// the first instance mid-load; returns what the load saw and the holders' latest tokens.
async fn kill_mid_load(signal: i32) {
    let iso = Arc::new(Isolation::new(Backend::Postgres).await);
    let (port_a, port_b) = (free_port(), free_port());
    let issuer = format!("http://127.0.0.1:{port_a}");
    let mut first = Instance::start(&iso, port_a, &issuer, &[]).await;
    let _second = Instance::start(&iso, port_b, &issuer, &[]).await;
    let mut holders = Vec::new();
    for _ in 0..4 {
        holders.push(holder(&iso, port_a, &issuer).await);
    }
    let router = Arc::new(Router {
        target: AtomicU16::new(port_a),
        second: port_b,
        stop: AtomicBool::new(false),
        refreshed: AtomicUsize::new(0),
        undelivered: AtomicUsize::new(0),
        refused: Default::default(),
    });
    let watch = tokio::spawn(router.clone().watch(port_a));
    let loops: Vec<_> = holders
        .iter()
        .map(|h| tokio::spawn(router.clone().refresh_loop(h.refresh_token.clone())))
        .collect();

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before_signal = router.refreshed.load(Ordering::Relaxed);
    first.signal(signal);
    if signal == libc::SIGTERM {
        drains_then_closes(&mut first, port_a).await;
    } else {
        first.exited().await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    router.stop.store(true, Ordering::Relaxed);
    watch.await.unwrap();
    let mut tokens = Vec::new();
    for task in loops {
        tokens.push(task.await.unwrap());
    }

    let refused = router.refused.lock().unwrap().clone();
    assert!(refused.is_empty(), "refused during the load: {refused:?}");
    assert!(
        before_signal >= 8,
        "the load ran ({before_signal} refreshes)"
    );
    let after = router.refreshed.load(Ordering::Relaxed) - before_signal;
    assert!(
        after >= 4,
        "the load went on at the other instance ({after} refreshes)"
    );
    if signal == libc::SIGTERM {
        let undelivered = router.undelivered.load(Ordering::Relaxed);
        assert_eq!(undelivered, 0, "a drain delivers every request");
    }
    nothing_lost(&iso, port_b, &issuer, &holders, &tokens).await;
}

/// SIGTERM: `/readyz` answers 503 at once while the instance still serves, the listener
/// closes after the drain and the process exits cleanly.
async fn drains_then_closes(first: &mut Instance, port: u16) {
    let signalled = Instant::now();
    let base = format!("http://127.0.0.1:{port}");
    let mut draining = false;
    while signalled.elapsed() < Duration::from_secs(1) {
        let response = reqwest::get(format!("{base}/readyz")).await.unwrap();
        if response.status() == 503 {
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["status"], "draining");
            draining = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(draining, "/readyz turned 503 within a second of SIGTERM");
    let still = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(still.status(), 200, "still serving while draining");
    let status = first.exited().await;
    assert!(
        status.success(),
        "a drained instance exits cleanly: {status}"
    );
    assert!(
        signalled.elapsed() >= Duration::from_secs(3),
        "the listener stayed open for server.drain_secs"
    );
    assert!(reqwest::get(format!("{base}/healthz")).await.is_err());
}

/// At the surviving instance: every holder's latest refresh token refreshes, its code
/// redeems, and its browser session signs in again without a password.
async fn nothing_lost(
    iso: &Arc<Isolation>,
    port: u16,
    issuer: &str,
    holders: &[Holder],
    tokens: &[String],
) {
    for (holder, token) in holders.iter().zip(tokens) {
        let mut at_b = TestApp::at(iso.clone(), port, issuer);
        at_b.http = holder.browser.http.clone();
        assert_eq!(
            refresh(&at_b, WEB, token).await.status(),
            200,
            "refresh token"
        );
        let (code, verifier) = &holder.code;
        let exchanged = exchange_code(&at_b, WEB, code, verifier).await;
        assert_eq!(exchanged.status(), 200, "code");
        let (verifier, challenge) = pkce_pair();
        let mut params = standard_params(WEB, &challenge, "openid");
        params.push(("prompt", "none"));
        let (status, location, _) = navigate(&at_b, &authorize_url(&at_b, &params)).await;
        assert_eq!(status, 302, "session");
        let code = query(&location.unwrap())["code"].clone();
        assert_eq!(
            exchange_code(&at_b, WEB, &code, &verifier).await.status(),
            200
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_killed_mid_load_loses_no_token_session_or_code() {
    kill_mid_load(libc::SIGKILL).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_drained_mid_load_fails_no_request_and_loses_nothing() {
    kill_mid_load(libc::SIGTERM).await;
}

/// A signing key this instance cannot decrypt takes it out of rotation until the keys
/// load again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_503_while_the_signing_keys_cannot_be_loaded() {
    use gatehouse::entities::signing_keys;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let db = app.isolation.connect().await;
    let rows = signing_keys::Entity::find().all(&db).await.unwrap();
    let current = rows.iter().find(|r| r.algorithm == "RS256").unwrap();
    let mut broken = current.clone();
    broken.kid = "undecryptable".into();
    broken.private_key_jwe = "not-a-jwe".into();
    broken.created_at = current.created_at + chrono::Duration::seconds(1);
    broken.activates_at = None;
    let broken = broken.into_active_model().insert(&db).await.unwrap();
    app.advance_clock(Duration::from_secs(2));

    let body = wait_for_readyz(&app, 503).await;
    assert_eq!(body["signing_keys"], "unavailable");
    assert_eq!(body["database"], "ok");

    broken.delete(&db).await.unwrap();
    let body = wait_for_readyz(&app, 200).await;
    assert_eq!(body["signing_keys"], "ok");
}

async fn wait_for_readyz(app: &TestApp, status: u16) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = app.get("/readyz").await;
        if response.status() == status {
            return response.json().await.unwrap();
        }
        assert!(Instant::now() < deadline, "/readyz never answered {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
