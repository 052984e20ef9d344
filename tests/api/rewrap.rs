//! Rotating the master key: with the new key current and the old one previous every instance
//! reads the stored keys; `gatehouse keys rewrap` (and `keys::rewrap` under it) then moves
//! them to the new key, all or nothing, and the JWKS and the tokens stay what they were.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};

use gatehouse::clock::SharedClock;
use gatehouse::entities::signing_keys;
use gatehouse::keys::{MasterKey, RewrapCounts};
use gatehouse::settings::Settings;
use gatehouse::startup::Application;
use sea_orm::{EntityTrait, QueryOrder};
use secrecy::SecretString;

use crate::backend_tests;
use crate::flow::{WEB, WEB_SECRET};
use crate::helpers::{Backend, Isolation, TestApp};

backend_tests!(rewrap_moves_the_signing_keys_to_the_new_key);

const A: usize = 0;
const B: usize = 1;
const C: usize = 2;

/// Three master keys, each also in an owner's file as an operator would hand them over.
struct Keys {
    dir: PathBuf,
    encoded: Vec<String>,
}

impl Keys {
    fn new() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let dir = std::env::temp_dir().join(format!("gatehouse-rewrap-{id}"));
        std::fs::create_dir_all(&dir).unwrap();
        let encoded: Vec<String> = (0..3).map(|_| MasterKey::generate_encoded()).collect();
        for (i, key) in encoded.iter().enumerate() {
            std::fs::write(dir.join(format!("key{i}")), key).unwrap();
        }
        Self { dir, encoded }
    }

    fn file(&self, i: usize) -> String {
        self.dir.join(format!("key{i}")).display().to_string()
    }

    fn key(&self, i: usize) -> MasterKey {
        MasterKey::from_encoded(&self.encoded[i], "test key").unwrap()
    }

    /// Settings with key `current` as keys.encryption_key and `previous`, if any, as
    /// keys.previous_encryption_key.
    fn configure(&self, current: usize, previous: Option<usize>) -> impl FnOnce(&mut Settings) {
        let current = SecretString::from(self.encoded[current].clone());
        let previous = previous.map(|p| SecretString::from(self.encoded[p].clone()));
        move |s| {
            s.keys.encryption_key = Some(current);
            s.keys.previous_encryption_key = previous;
        }
    }

    /// `gatehouse keys rewrap ARGS` on this database, configured with key `current`.
    fn run_rewrap(&self, isolation: &Isolation, current: usize, args: &[&str]) -> Output {
        let output = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .current_dir(&self.dir)
            .args(["keys", "rewrap"])
            .args(args)
            .env("GATEHOUSE__DATABASE__URL", &isolation.database_url)
            .env("GATEHOUSE__KEYS__ENCRYPTION_KEY_FILE", self.file(current))
            .output()
            .unwrap();
        self.assert_no_key_material(&output);
        output
    }

    fn assert_no_key_material(&self, output: &Output) {
        let printed = [&output.stdout[..], &output.stderr[..]].concat();
        let printed = String::from_utf8_lossy(&printed);
        for key in &self.encoded {
            assert!(
                !printed.contains(key.as_str()),
                "a key was printed: {printed}"
            );
        }
    }
}

impl Drop for Keys {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn jwks(app: &TestApp) -> String {
    app.get("/jwks").await.text().await.unwrap()
}

fn kids_of(jwks: &str) -> Vec<String> {
    let jwks: serde_json::Value = serde_json::from_str(jwks).unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    keys.iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// A client_credentials access token: something only the private signing key can make.
async fn signed_token(app: &TestApp) -> String {
    let response = reqwest::Client::new()
        .post(app.url("/token"))
        .basic_auth(WEB, Some(WEB_SECRET))
        .form(&[("grant_type", "client_credentials"), ("scope", "profile")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn stored_keys(isolation: &Isolation) -> Vec<signing_keys::Model> {
    let db = isolation.connect().await;
    let rows = signing_keys::Entity::find()
        .order_by_asc(signing_keys::Column::Kid)
        .all(&db)
        .await
        .unwrap();
    db.close().await.ok();
    rows
}

/// Builds a server that is expected not to start, and returns why.
async fn start_failure(isolation: &Isolation, tweak: impl FnOnce(&mut Settings)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut settings = isolation.settings(listener.local_addr().unwrap().port());
    tweak(&mut settings);
    let clock: SharedClock = isolation.clock.clone();
    match Application::build_with_clock(settings, listener, clock).await {
        Ok(_) => panic!("the server started"),
        Err(error) => format!("{error:#}"),
    }
}

async fn rewrap_moves_the_signing_keys_to_the_new_key(backend: Backend) {
    let keys = Keys::new();
    let first = TestApp::spawn_with(backend, keys.configure(A, None)).await;
    let isolation = first.isolation.clone();
    let published = jwks(&first).await;
    let old_token = signed_token(&first).await;
    first.stop().await;

    // The rolling deploy: B current and A previous reads the keys A stored; nothing rewrapped.
    let rolling = TestApp::spawn_on(isolation.clone(), keys.configure(B, Some(A))).await;
    assert_eq!(jwks(&rolling).await, published);
    gatehouse::keys::verify_with_jwks(&published, &signed_token(&rolling).await).unwrap();
    rolling.stop().await;

    // A wrong old key: nothing changes, the command fails and names the key it cannot open
    // (and, run where A is still the configured key, warns that B is not).
    let before = stored_keys(&isolation).await;
    let wrong = keys.run_rewrap(
        &isolation,
        A,
        &[
            "--old-key",
            &keys.encoded[C],
            "--new-key-file",
            &keys.file(B),
        ],
    );
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(!wrong.status.success(), "{stderr}");
    let named = kids_of(&published)
        .iter()
        .any(|kid| stderr.contains(&format!("signing key {kid}")));
    assert!(named, "{stderr}");
    assert!(stderr.contains("warning: the new key is not"), "{stderr}");
    assert!(
        stderr.contains("neither the old key nor the new one"),
        "{stderr}"
    );
    assert_eq!(stored_keys(&isolation).await, before, "nothing changed");

    // A → B through the library; a second run finds everything under B already.
    let db = isolation.connect().await;
    let (a, b) = (keys.key(A), keys.key(B));
    let report = gatehouse::keys::rewrap(&db, &a, &b).await.unwrap();
    // One key per algorithm: RS256, ES256, EdDSA.
    let moved = RewrapCounts {
        rewrapped: 3,
        already_current: 0,
    };
    assert_eq!(report.signing_keys, moved);
    let again = gatehouse::keys::rewrap(&db, &a, &b).await.unwrap();
    assert_eq!(again.signing_keys.rewrapped, 0);
    assert_eq!(again.signing_keys.already_current, 3);
    db.close().await.ok();

    // B → C through the binary, with key files.
    let args = [
        "--old-key-file",
        &keys.file(B),
        "--new-key-file",
        &keys.file(C),
    ];
    let output = keys.run_rewrap(&isolation, C, &args);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(
        !stderr.contains("warning"),
        "C is the configured key: {stderr}"
    );
    assert!(
        stdout.contains("signing keys: 3 rewrapped, 0 already under the new key"),
        "{stdout}"
    );
    let after = stored_keys(&isolation).await;
    assert_eq!(after.len(), 3, "one key per algorithm");
    for (after, before) in after.iter().zip(&before) {
        assert_ne!(after.private_key_jwe, before.private_key_jwe);
        assert_eq!(after.public_jwk, before.public_jwk);
    }

    // C alone now serves the same key, signs with it, and old tokens still verify.
    let rotated = TestApp::spawn_on(isolation.clone(), keys.configure(C, None)).await;
    assert_eq!(jwks(&rotated).await, published);
    gatehouse::keys::verify_with_jwks(&published, &signed_token(&rotated).await).unwrap();
    gatehouse::keys::verify_with_jwks(&jwks(&rotated).await, &old_token).unwrap();
    rotated.stop().await;

    // The old key alone no longer opens it, and the server says which key and what to set.
    let error = start_failure(&isolation, keys.configure(A, None)).await;
    let named = kids_of(&published)
        .iter()
        .any(|kid| error.contains(&format!("signing key {kid}")));
    assert!(named, "{error}");
    assert!(error.contains("keys.previous_encryption_key"), "{error}");
}

#[test]
fn rewrap_without_both_keys_fails_before_touching_anything_and_echoes_no_key() {
    let keys = Keys::new();
    let run = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .current_dir(&keys.dir)
            .args(["keys", "rewrap"])
            .args(args)
            .output()
            .unwrap();
        keys.assert_no_key_material(&output);
        assert!(!output.status.success());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };

    let missing_new = run(&["--old-key", &keys.encoded[A]]);
    assert!(missing_new.contains("--new-key-file"), "{missing_new}");
    assert!(
        missing_new.contains("prefer files"),
        "the usage: {missing_new}"
    );

    let stray_value = run(&[&keys.encoded[A]]);
    assert!(stray_value.contains("unexpected argument"), "{stray_value}");

    let not_a_key = run(&["--old-key-file", &keys.file(A), "--new-key", "short"]);
    assert!(
        not_a_key.contains("--new-key must be 32 bytes"),
        "{not_a_key}"
    );
    assert!(
        !keys.dir.join("gatehouse.db").exists(),
        "no database was created"
    );
}
