//! The report printed at the end, and the gate: no 5xx to anyone (a 503 with Retry-After
//! to the attacker or the flood is listed but allowed: shedding them is the point), and at
//! least 99% of the honest flows and of the client_credentials grants succeeded.

use std::time::Duration;

use crate::Config;
use crate::browser::Ctx;
use crate::stats::{Kind, Stats};

const MIN_SUCCESS: f64 = 99.0;

/// Prints the report; returns whether the run passed the gate.
pub fn print(ctx: &Ctx, config: &Config, elapsed: Duration) -> bool {
    let stats = &ctx.stats;
    println!(
        "soak: {:.0} s against {} — {} users, client_credentials {}/s, attacker {}/s from {}, \
         malformed flood {}/s from {}",
        elapsed.as_secs_f64(),
        ctx.base,
        config.users,
        config.cc_rate,
        config.attack_rate,
        crate::attacker::ADDRESS,
        config.flood_rate,
        crate::flood::ADDRESS,
    );
    let flows = success_line(stats, "honest flows", "flow.attempted", "flow.succeeded");
    let cc = success_line(stats, "client_credentials", "cc.sent", "cc.succeeded");
    failures(stats, "flow.failed.");
    failures(stats, "cc.failed.");
    latencies(stats);
    let signed_in = attacker(stats);
    let paced = [
        ("client_credentials", "cc", config.cc_rate),
        ("attacker", "attacker", config.attack_rate),
        ("flood", "flood", config.flood_rate),
    ];
    sent(stats, config.duration, &paced);
    let (five_xx, shed) = statuses(stats);
    let mut failed = Vec::new();
    if five_xx > 0 {
        failed.push(format!("{five_xx} 5xx"));
    }
    if flows < MIN_SUCCESS || (config.cc_rate > 0 && cc < MIN_SUCCESS) {
        failed.push(format!("honest success below {MIN_SUCCESS}%"));
    }
    if signed_in > 0 {
        failed.push(format!("{signed_in} wrong passwords signed in"));
    }
    println!("5xx: {five_xx} (+ {shed} 503 with Retry-After to the attacker or the flood)");
    match failed.is_empty() {
        true => println!("PASS"),
        false => println!("FAIL: {}", failed.join(", ")),
    }
    failed.is_empty()
}

/// `name: N attempted, M succeeded (P%)`; returns P (0 when nothing was attempted).
fn success_line(stats: &Stats, name: &str, attempted: &str, succeeded: &str) -> f64 {
    let (tried, ok) = (stats.count(attempted), stats.count(succeeded));
    let rate = if tried == 0 {
        0.0
    } else {
        100.0 * ok as f64 / tried as f64
    };
    println!("{name:<20} {tried:>7} attempted, {ok:>7} succeeded ({rate:.2}%)");
    rate
}

/// Failure reasons under `prefix`, most frequent first.
fn failures(stats: &Stats, prefix: &str) {
    let mut reasons = stats.events_under(prefix);
    reasons.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    for (reason, n) in reasons.iter().take(8) {
        println!("  failed ×{n}: {reason}");
    }
}

fn latencies(stats: &Stats) {
    println!("honest latency (ms)   requests      p50      p99");
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    for (step, count, p50, p99) in stats.latencies() {
        println!("  {step:<20} {count:>8} {:>8.1} {:>8.1}", ms(p50), ms(p99));
    }
}

/// The attacker's guesses and what it was told; returns how many got signed in.
fn attacker(stats: &Stats) -> u64 {
    let posted = stats.count("attacker.posted");
    let refused: Vec<(String, u64)> = stats.events_under("attacker.refused_429.");
    let again: Vec<(String, u64)> = stats.events_under("attacker.form_again.");
    let total = |list: &[(String, u64)]| list.iter().map(|(_, n)| n).sum::<u64>();
    let attempts = stats.count("attacker.sent");
    let signed_in = stats.count("attacker.signed_in");
    println!(
        "attacker             {attempts:>7} guesses started, {posted} wrong passwords posted, \
         {signed_in} signed in"
    );
    println!(
        "  refused with 429:            {:>7}  {}",
        total(&refused),
        listing(&refused)
    );
    println!(
        "  login form shown again:      {:>7}  {}",
        total(&again),
        listing(&again)
    );
    let other = stats.events_under("attacker.outcome.");
    if !other.is_empty() {
        println!("  other answers:               {}", listing(&other));
    }
    signed_in
}

fn listing(items: &[(String, u64)]) -> String {
    let parts: Vec<String> = items
        .iter()
        .map(|(what, n)| format!("{what} ×{n}"))
        .collect();
    parts.join(", ")
}

/// How much of the intended load went out (a tick finding every slot busy is skipped):
/// (name, event prefix, rate per second) of each paced kind.
fn sent(stats: &Stats, duration: Duration, paced: &[(&str, &str, u32)]) {
    for (name, key, rate) in paced {
        let (sent, skipped) = (
            stats.count(&format!("{key}.sent")),
            stats.count(&format!("{key}.skipped")),
        );
        println!(
            "paced {name:<14} {sent:>7} sent of {} intended ({skipped} ticks skipped: all slots busy)",
            u64::from(*rate) * duration.as_secs()
        );
    }
}

/// The status classes per traffic kind; returns (5xx that fail the gate, 503s allowed).
fn statuses(stats: &Stats) -> (u64, u64) {
    println!(
        "responses            no answer     1xx     2xx     3xx     4xx     5xx  503+Retry-After"
    );
    let (mut failing, mut shed) = (0, 0);
    for kind in Kind::ALL {
        let t = stats.tally(kind);
        let c = t.classes;
        println!(
            "  {:<20} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>8}",
            kind.name(),
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            c[5],
            t.busy_503
        );
        if !t.server_errors.is_empty() {
            let codes: Vec<String> = t
                .server_errors
                .iter()
                .map(|(s, n)| format!("{s} ×{n}"))
                .collect();
            println!("    5xx: {}", codes.join(", "));
        }
        let allowed = if kind.is_honest() { 0 } else { t.busy_503 };
        failing += t.five_xx() - allowed;
        shed += allowed;
    }
    flood_shapes(stats);
    for (what, n) in stats.events_under("flood.5xx.").iter().take(10) {
        println!("  flood 5xx ×{n}: {what}");
    }
    (failing, shed)
}

/// The flood's answers by shape: `random path: 404 ×120, 405 ×3`.
fn flood_shapes(stats: &Stats) {
    let mut shapes: Vec<(String, Vec<String>)> = Vec::new();
    for (key, n) in stats.events_under("flood.shape.") {
        let Some((shape, answer)) = key.rsplit_once(": ") else {
            continue;
        };
        let entry = format!("{answer} ×{n}");
        match shapes.last_mut() {
            Some((last, answers)) if last == shape => answers.push(entry),
            _ => shapes.push((shape.to_owned(), vec![entry])),
        }
    }
    for (shape, answers) in shapes {
        println!("    {shape:<26} {}", answers.join(", "));
    }
}
