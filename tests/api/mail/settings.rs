//! `[mail]` settings that cannot work stop the binary with one line naming the key.

use std::process::{Command, Output};

fn run_binary(envs: &[(&str, &str)]) -> Output {
    let dir = std::env::temp_dir().join(format!("gatehouse-mailcfg-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .current_dir(&dir)
        .envs(envs.iter().copied())
        .env("GATEHOUSE__SERVER__LISTEN", "127.0.0.1:0")
        .env("GATEHOUSE__DEMO__SEED", "false")
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    output
}

fn fails_naming(output: &Output, key: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!output.status.success(), "{stderr}");
    assert_eq!(lines.len(), 1, "exactly one line, got: {stderr}");
    assert!(lines[0].contains(key), "{stderr}");
}

#[test]
fn smtp_without_a_host_is_refused() {
    let output = run_binary(&[("GATEHOUSE__MAIL__TRANSPORT", "smtp")]);
    fails_naming(&output, "mail.smtp.host");
}

#[test]
fn an_unknown_mail_key_is_refused() {
    let output = run_binary(&[("GATEHOUSE__MAIL__SMTP__HOSTNAME", "smtp.example.com")]);
    fails_naming(&output, "hostname");
}

#[test]
fn an_unreadable_password_file_stops_the_start() {
    let output = run_binary(&[
        ("GATEHOUSE__MAIL__TRANSPORT", "smtp"),
        ("GATEHOUSE__MAIL__SMTP__HOST", "127.0.0.1"),
        ("GATEHOUSE__MAIL__SMTP__USERNAME", "gatehouse"),
        ("GATEHOUSE__MAIL__SMTP__PASSWORD_FILE", "/nonexistent/smtp"),
    ]);
    fails_naming(&output, "mail.smtp.password_file");
}
