//! `gatehouse serve` as the built binary in a child process, on a test's isolation: for
//! what only a real process shows (signals, exit status, a listener closing).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{Isolation, redis_url, test_encryption_key};

/// The child process, killed on drop.
pub struct Instance {
    child: Child,
    pub port: u16,
}

impl Instance {
    /// Starts it on `port` with the isolation's PostgreSQL and Redis prefix and `extra`
    /// settings, and waits until `/readyz` answers 200 over plain HTTP.
    pub async fn start(iso: &Isolation, port: u16, issuer: &str, extra: &[(&str, &str)]) -> Self {
        let instance = Self::spawn(iso, port, issuer, extra);
        let http = reqwest::Client::new();
        instance
            .wait_ready(&http, &format!("http://127.0.0.1:{port}"))
            .await;
        instance
    }

    /// Starts it without waiting (a TLS listener needs a client that trusts its CA).
    pub fn spawn(iso: &Isolation, port: u16, issuer: &str, extra: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        command
            .arg("serve")
            .current_dir(std::env::temp_dir())
            .env("GATEHOUSE__SERVER__LISTEN", format!("127.0.0.1:{port}"))
            .env("GATEHOUSE__SERVER__ISSUER", issuer)
            .env("GATEHOUSE__SERVER__WORKERS", "2")
            .env("GATEHOUSE__SERVER__DRAIN_SECS", "3")
            // Its metrics listener on a free port: instances side by side never share one.
            .env("GATEHOUSE__METRICS__LISTEN", "127.0.0.1:0")
            .env("GATEHOUSE__DATABASE__URL", &iso.database_url)
            .env("GATEHOUSE__REDIS__URL", redis_url())
            .env("GATEHOUSE__REDIS__KEY_PREFIX", &iso.redis_prefix)
            .env("GATEHOUSE__KEYS__ENCRYPTION_KEY", test_encryption_key())
            .env("GATEHOUSE__PASSWORDS__MAX_CONCURRENT", "2")
            .env("GATEHOUSE__MAIL__FILE_DIR", &iso.mail_dir)
            .env("GATEHOUSE__LOG__FILTER", "warn")
            .envs(extra.iter().copied());
        if std::env::var_os("TEST_LOG").is_none() {
            command.stdout(Stdio::null()).stderr(Stdio::null());
        }
        Self {
            child: command.spawn().unwrap(),
            port,
        }
    }

    pub async fn wait_ready(&self, http: &reqwest::Client, base: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let sent = http.get(format!("{base}/readyz")).send().await;
            if sent.is_ok_and(|r| r.status() == 200) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "instance on {} not ready",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.child.id()).unwrap();
        // SAFETY: kill(2) on our own child's pid; no memory is involved.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits for the process to end; its exit status.
    pub async fn exited(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the instance did not exit");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}
