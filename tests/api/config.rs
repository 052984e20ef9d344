//! Bad configuration stops the binary with one clear line.

use std::process::Command;

fn run_binary(envs: &[(&str, &str)]) -> std::process::Output {
    let dir = std::env::temp_dir().join(format!("gatehouse-cfg-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .current_dir(&dir)
        .envs(envs.iter().copied())
        .env("GATEHOUSE__SERVER__LISTEN", "127.0.0.1:0")
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    output
}

fn assert_one_line_failure(output: &std::process::Output, mentions: &str) {
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "exactly one line, got: {stderr}");
    assert!(lines[0].to_lowercase().contains(mentions), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn unparseable_issuer_names_the_key() {
    let output = run_binary(&[("GATEHOUSE__SERVER__ISSUER", "not a url")]);
    assert_one_line_failure(&output, "server.issuer");
}

#[test]
fn wrong_type_names_the_key() {
    let output = run_binary(&[("GATEHOUSE__TOKENS__ACCESS_TOKEN_TTL_SECS", "ten")]);
    assert_one_line_failure(&output, "access_token_ttl_secs");
}

#[test]
fn unknown_key_is_rejected() {
    let output = run_binary(&[("GATEHOUSE__SERVER__LISTEN_ADDRES", "x")]);
    assert_one_line_failure(&output, "listen_addres");
}

#[test]
fn unreachable_database_fails_fast() {
    let output = run_binary(&[
        (
            "GATEHOUSE__DATABASE__URL",
            "postgres://postgres@127.0.0.1:1/nothing",
        ),
        ("GATEHOUSE__DATABASE__CONNECT_TIMEOUT_SECS", "2"),
        (
            "GATEHOUSE__KEYS__ENCRYPTION_KEY",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ),
    ]);
    assert_one_line_failure(&output, "database");
}

#[test]
fn check_config_accepts_the_defaults() {
    let output = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("check-config")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
