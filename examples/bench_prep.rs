//! Prepares stateful inputs for the load benchmark (benches/load/run.sh) through the real
//! HTTP flow: a signed-in session, pre-minted authorization codes, refresh tokens, an access
//! token, and a pending login form. Also times Argon2id at the configured parameters.
//!
//! usage: bench_prep BASE_URL OUT_DIR CODES REFRESH_TOKENS
//!        bench_prep argon2 SECONDS
//!        bench_prep wait-ready URL STARTED_UNIX_NANOS   (prints ms from STARTED to a 200)
//!        bench_prep probe TOKEN_URL SECONDS RATE   (client_credentials at RATE/s; prints p99 ms)

use std::time::{Duration, Instant};

use base64::Engine;
use sha2::Digest;

const CLIENT: &str = "demo-web";
const SECRET: &str = "demo-web-secret";
const REDIRECT: &str = "http://127.0.0.1:8081/callback";
pub const VERIFIER: &str = "bench-verifier-0123456789abcdefghijklmnopqrstuvwxyz";

fn field(html: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html.find(&marker).map(|i| i + marker.len()).unwrap_or(0);
    let end = html[start..].find('"').map(|i| i + start).unwrap_or(start);
    html[start..end].to_owned()
}

fn authorize_url(base: &str, prompt: Option<&str>) -> String {
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(VERIFIER));
    let mut url = url::Url::parse(&format!("{base}/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid profile email offline_access")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    if let Some(prompt) = prompt {
        url.query_pairs_mut().append_pair("prompt", prompt);
    }
    url.to_string()
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Signs in and consents once, so later authorize requests return codes directly.
async fn sign_in(http: &reqwest::Client, base: &str) {
    let mut url = authorize_url(base, None);
    for _ in 0..10 {
        let response = http.get(&url).send().await.unwrap();
        if response.status().is_redirection() {
            let next = location(&response);
            if next.starts_with(REDIRECT) {
                return;
            }
            url = if next.starts_with('/') {
                format!("{base}{next}")
            } else {
                next
            };
            continue;
        }
        let html = response.text().await.unwrap();
        let (request, csrf) = (field(&html, "request"), field(&html, "csrf"));
        let response = if html.contains(r#"name="password""#) {
            let form = [
                ("request", request.as_str()),
                ("csrf", &csrf),
                ("email", "user@example.com"),
                ("password", "User@123"),
            ];
            http.post(format!("{base}/login"))
                .form(&form)
                .send()
                .await
                .unwrap()
        } else {
            let form = [
                ("request", request.as_str()),
                ("csrf", &csrf),
                ("decision", "allow"),
            ];
            http.post(format!("{base}/consent"))
                .form(&form)
                .send()
                .await
                .unwrap()
        };
        url = format!("{base}{}", location(&response));
    }
    panic!("could not sign in");
}

async fn mint_codes(http: &reqwest::Client, base: &str, count: usize) -> Vec<String> {
    let url = authorize_url(base, Some("none"));
    let mut codes = Vec::with_capacity(count);
    let mut batch = Vec::new();
    for _ in 0..count {
        let (http, url) = (http.clone(), url.clone());
        batch.push(tokio::spawn(async move {
            let response = http.get(&url).send().await.unwrap();
            let back = url::Url::parse(&location(&response)).unwrap();
            back.query_pairs()
                .find(|(k, _)| k == "code")
                .map(|(_, v)| v.into_owned())
                .expect("a code")
        }));
        if batch.len() == 32 {
            for task in batch.drain(..) {
                codes.push(task.await.unwrap());
            }
        }
    }
    for task in batch {
        codes.push(task.await.unwrap());
    }
    codes
}

async fn exchange(http: &reqwest::Client, base: &str, code: &str) -> serde_json::Value {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let response = http
        .post(format!("{base}/token"))
        .basic_auth(CLIENT, Some(SECRET))
        .form(&form)
        .send()
        .await
        .unwrap();
    response.json().await.unwrap()
}

/// A login form left pending, so the benchmark can post it again and again.
async fn pending_login(base: &str) -> (String, String) {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = http
        .get(authorize_url(base, Some("login")))
        .send()
        .await
        .unwrap();
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|c| c.to_str().ok()?.split(';').next().map(str::to_owned))
        .collect::<Vec<_>>()
        .join("; ");
    let page = http
        .get(format!("{base}{}", location(&response)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let body = format!(
        "request={}&csrf={}&email=user%40example.com&password=User%40123",
        field(&page, "request"),
        field(&page, "csrf")
    );
    (body, cookie)
}

/// Polls `url` until it answers 200 and prints the milliseconds since `started_ns` (the
/// moment the script exec'd the server). Plain blocking sockets, no HTTP client: building a
/// reqwest client (TLS roots, connector) took tens of milliseconds before the first try, and
/// a curl loop paid its own start-up per try. A short connect timeout also stops a dropped
/// SYN costing a 1 s retransmit.
fn wait_ready(url: &str, started_ns: u128) {
    use std::io::{Read, Write};
    let url = url::Url::parse(url).unwrap();
    let addr = url.socket_addrs(|| None).unwrap()[0];
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        url.path(),
        url.authority()
    );
    let answered_200 = || -> std::io::Result<bool> {
        let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(50))?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        stream.write_all(request.as_bytes())?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head)?;
        Ok(head.starts_with(b"HTTP/1.1 200"))
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !answered_200().unwrap_or(false) {
        assert!(Instant::now() < deadline, "{url} not ready after 60 s");
        std::thread::sleep(Duration::from_millis(1));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    println!("{}", now.saturating_sub(started_ns) / 1_000_000);
}

/// Sends client_credentials grants as `demo-web` at `rate` per second for `seconds` over one
/// kept-alive connection, as an RP with a connection pool would, and prints the p99 latency
/// in ms. Every answer must be a 200.
async fn probe(token_url: &str, seconds: u64, rate: u32) {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    let mut tick = tokio::time::interval(Duration::from_secs(1) / rate);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut latencies = Vec::new();
    let until = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < until {
        tick.tick().await;
        let sent = Instant::now();
        let response = http
            .post(token_url)
            .basic_auth(CLIENT, Some(SECRET))
            .form(&[("grant_type", "client_credentials"), ("scope", "profile")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "probe grant refused");
        response.bytes().await.unwrap();
        latencies.push(sent.elapsed());
    }
    latencies.sort();
    let p99 = latencies[(latencies.len() * 99 / 100).min(latencies.len() - 1)];
    println!("{:.2}", p99.as_secs_f64() * 1000.0);
}

fn argon2_rate(seconds: u64) {
    let settings = gatehouse::settings::Settings::built_in().unwrap().passwords;
    let params = argon2::Params::new(
        settings.memory_kib,
        settings.iterations,
        settings.parallelism,
        None,
    )
    .unwrap();
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = [0u8; 32];
    // One reused working buffer, as the server's hashing threads do.
    let mut memory = vec![argon2::Block::default(); argon.params().block_count()];
    let (start, mut n) = (Instant::now(), 0u32);
    while start.elapsed() < Duration::from_secs(seconds) {
        argon
            .hash_password_into_with_memory(b"User@123", b"bench-salt-16byt", &mut out, &mut memory)
            .unwrap();
        n += 1;
    }
    println!("{:.1}", f64::from(n) / start.elapsed().as_secs_f64());
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("argon2") {
        return argon2_rate(args.get(2).and_then(|s| s.parse().ok()).unwrap_or(3));
    }
    if args.get(1).map(String::as_str) == Some("wait-ready") {
        return wait_ready(&args[2], args[3].parse().unwrap());
    }
    if args.get(1).map(String::as_str) == Some("probe") {
        return probe(&args[2], args[3].parse().unwrap(), args[4].parse().unwrap()).await;
    }
    let (base, out) = (args[1].clone(), std::path::PathBuf::from(&args[2]));
    let (codes, refreshes): (usize, usize) = (args[3].parse().unwrap(), args[4].parse().unwrap());
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    sign_in(&http, &base).await;
    let started = Instant::now();
    let minted = mint_codes(&http, &base, codes + refreshes + 1).await;
    eprintln!(
        "minted {} codes in {:.1}s",
        minted.len(),
        started.elapsed().as_secs_f64()
    );
    let (for_exchange, rest) = minted.split_at(codes);
    let mut refresh_tokens = Vec::new();
    let mut access_token = String::new();
    for code in rest {
        let tokens = exchange(&http, &base, code).await;
        refresh_tokens.push(tokens["refresh_token"].as_str().unwrap().to_owned());
        access_token = tokens["access_token"].as_str().unwrap().to_owned();
    }
    let (login_body, login_cookie) = pending_login(&base).await;
    std::fs::write(out.join("codes.txt"), for_exchange.join("\n") + "\n").unwrap();
    std::fs::write(
        out.join("refresh_tokens.txt"),
        refresh_tokens.join("\n") + "\n",
    )
    .unwrap();
    std::fs::write(out.join("access_token.txt"), access_token).unwrap();
    std::fs::write(out.join("login_body.txt"), login_body).unwrap();
    std::fs::write(out.join("login_cookie.txt"), login_cookie).unwrap();
}
