//! The files an operator deploys beside the server: Prometheus's alert rules and scrape
//! configuration (checked and unit-tested by promtool) and the Grafana dashboard, whose
//! every query must be valid PromQL naming only series a live `/metrics` exports.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

use crate::helpers::{Backend, TestApp};

use super::{promtool, scrape};

fn deploy(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(path)
}

/// Series that Prometheus makes itself for each target, not the server.
const PROMETHEUS_OWN: &[&str] = &["up"];

#[test]
fn the_alert_rules_are_valid_and_behave_as_their_tests_say() {
    let checked = promtool(&["check", "rules", "deploy/prometheus/alerts.yml"], "");
    assert!(checked.contains("SUCCESS: 11 rules found"), "{checked}");
    promtool(&["test", "rules", "deploy/prometheus/alerts.test.yml"], "");
    promtool(&["check", "config", "deploy/prometheus/prometheus.yml"], "");
}

/// Every `expr` of every panel, rows' panels included.
fn dashboard_queries() -> Vec<String> {
    let text = std::fs::read_to_string(deploy("grafana/dashboards/gatehouse.json")).unwrap();
    let dashboard: Value = serde_json::from_str(&text).unwrap();
    let mut queries = Vec::new();
    let mut stack: Vec<&Value> = dashboard["panels"].as_array().unwrap().iter().collect();
    while let Some(panel) = stack.pop() {
        stack.extend(panel["panels"].as_array().into_iter().flatten());
        for target in panel["targets"].as_array().into_iter().flatten() {
            queries.push(target["expr"].as_str().expect("a PromQL expr").to_owned());
        }
    }
    queries
}

/// The expressions of the alert rules (`expr: one line` or an indented `expr: |` block).
fn alert_queries() -> Vec<String> {
    let text = std::fs::read_to_string(deploy("prometheus/alerts.yml")).unwrap();
    let mut queries = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(expr) = line.trim_start().strip_prefix("expr:") else {
            continue;
        };
        if expr.trim() != "|" {
            queries.push(expr.trim().to_owned());
            continue;
        }
        let indent = |l: &str| l.len() - l.trim_start().len();
        let base = indent(line);
        let mut block = String::new();
        while let Some(next) = lines.next_if(|l| l.trim().is_empty() || indent(l) > base) {
            block.push_str(next.trim());
            block.push('\n');
        }
        queries.push(block);
    }
    queries
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_and_alert_query_names_exported_series() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let scrape = scrape(&app).await;
    let queries = dashboard_queries();
    let alerts = alert_queries();
    assert!(queries.len() >= 20, "the panels were read: {queries:?}");
    assert_eq!(alerts.len(), 11, "every rule's expression was read");

    let mut named = BTreeSet::new();
    for query in queries.iter().chain(&alerts) {
        let names = metric_names(query).unwrap_or_else(|e| panic!("{e}: {query}"));
        assert!(!names.is_empty(), "no metric in {query}");
        named.extend(names);
    }
    let missing: Vec<&String> = named
        .iter()
        .filter(|n| !scrape.exports(n) && !PROMETHEUS_OWN.contains(&n.as_str()))
        .collect();
    assert!(missing.is_empty(), "queried but not exported: {missing:?}");
    for family in [
        "gatehouse_tokens_issued_total",
        "gatehouse_argon2_queue_wait_seconds_bucket",
    ] {
        assert!(named.contains(family), "the dashboard shows {family}");
    }
    // And every panel query is PromQL that Prometheus accepts (Grafana's interval variable
    // stands for a duration), checked as recording rules.
    let rules: Vec<String> = queries
        .iter()
        .enumerate()
        .map(|(n, q)| {
            let q = q.replace("$__rate_interval", "5m").replace('\n', " ");
            format!(
                "      - record: dashboard:query_{n}\n        expr: {}\n",
                serde_json::to_string(&q).unwrap()
            )
        })
        .collect();
    let file = std::env::temp_dir().join(format!("dashboard-rules-{}.yml", uuid::Uuid::new_v4()));
    std::fs::write(
        &file,
        format!(
            "groups:\n  - name: dashboard\n    rules:\n{}",
            rules.concat()
        ),
    )
    .unwrap();
    let checked = promtool(&["check", "rules", file.to_str().unwrap()], "");
    std::fs::remove_file(&file).ok();
    assert!(
        checked.contains(&format!("SUCCESS: {} rules found", queries.len())),
        "{checked}"
    );
}

#[test]
fn the_grafana_provisioning_names_the_dashboard_datasource() {
    let datasource =
        std::fs::read_to_string(deploy("grafana/provisioning/datasources/prometheus.yml")).unwrap();
    let provider =
        std::fs::read_to_string(deploy("grafana/provisioning/dashboards/gatehouse.yml")).unwrap();
    let text = std::fs::read_to_string(deploy("grafana/dashboards/gatehouse.json")).unwrap();
    let dashboard: Value = serde_json::from_str(&text).unwrap();

    assert!(datasource.contains("uid: gatehouse-prometheus"));
    assert!(provider.contains("path: /var/lib/grafana/dashboards\n"));
    let mut stack: Vec<&Value> = dashboard["panels"].as_array().unwrap().iter().collect();
    while let Some(panel) = stack.pop() {
        stack.extend(panel["panels"].as_array().into_iter().flatten());
        if panel["type"] != "row" {
            assert_eq!(
                panel["datasource"]["uid"], "gatehouse-prometheus",
                "{}",
                panel["title"]
            );
        }
    }
}

/// PromQL tokens, as far as naming series goes.
#[derive(Debug, PartialEq)]
enum Token {
    Ident(String),
    Open,
    Close,
    Other,
}

/// Splits PromQL into identifiers and punctuation, dropping string literals, label
/// matchers (`{…}`), ranges and subqueries (`[…]`) and numbers and durations.
fn tokens(query: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = query.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' | '`' => {
                let mut escaped = false;
                loop {
                    let next = chars.next().ok_or("an unterminated string")?;
                    match next {
                        '\\' if !escaped => escaped = true,
                        q if q == c && !escaped => break,
                        _ => escaped = false,
                    }
                }
            }
            '{' | '[' => {
                let close = if c == '{' { '}' } else { ']' };
                let mut depth = 1;
                while depth > 0 {
                    match chars.next().ok_or("an unclosed bracket")? {
                        '"' => while chars.next().ok_or("an unterminated string")? != '"' {},
                        o if o == c => depth += 1,
                        x if x == close => depth -= 1,
                        _ => {}
                    }
                }
            }
            '(' => tokens.push(Token::Open),
            ')' => tokens.push(Token::Close),
            c if c.is_ascii_digit() || c == '.' => {
                while chars
                    .next_if(|n| n.is_ascii_alphanumeric() || *n == '.')
                    .is_some()
                {}
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                let mut ident = c.to_string();
                while let Some(n) =
                    chars.next_if(|n| n.is_ascii_alphanumeric() || *n == '_' || *n == ':')
                {
                    ident.push(n);
                }
                tokens.push(Token::Ident(ident));
            }
            c if c.is_whitespace() => {}
            _ => tokens.push(Token::Other),
        }
    }
    Ok(tokens)
}

/// The series names a PromQL expression selects: identifiers that are not functions or
/// aggregations (followed by `(`), not keywords, and not label names in a grouping clause.
fn metric_names(query: &str) -> Result<BTreeSet<String>, String> {
    const GROUPING: &[&str] = &[
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
    ];
    const KEYWORDS: &[&str] = &[
        "and",
        "or",
        "unless",
        "bool",
        "offset",
        "inf",
        "nan", // operators, modifiers
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
        "limitk",
        "limit_ratio", // aggregations
    ];
    let tokens = tokens(query)?;
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < tokens.len() {
        if let Token::Ident(ident) = &tokens[i] {
            let called = tokens.get(i + 1) == Some(&Token::Open);
            if GROUPING.contains(&ident.as_str()) {
                if called {
                    // Skip the label list up to its closing parenthesis.
                    while tokens.get(i).is_some_and(|t| *t != Token::Close) {
                        i += 1;
                    }
                }
            } else if !called && !KEYWORDS.contains(&ident.to_ascii_lowercase().as_str()) {
                names.insert(ident.clone());
            }
        }
        i += 1;
    }
    Ok(names)
}

#[test]
fn series_names_are_read_out_of_promql() {
    let names = |q: &str| metric_names(q).unwrap().into_iter().collect::<Vec<_>>();
    assert_eq!(
        names(
            r#"histogram_quantile(0.99, sum by (route, le) (rate(x_bucket{route="/a{b}"}[5m])))"#
        ),
        ["x_bucket"]
    );
    assert_eq!(
        names("sum(rate(a_total[$__rate_interval])) / sum(b) > 2 * c and on () d offset 5m"),
        ["a_total", "b", "c", "d"]
    );
    assert_eq!(names(r#"up{job="gatehouse"} == 0"#), ["up"]);
    assert!(metric_names(r#"a{x="unterminated}"#).is_err());
}
