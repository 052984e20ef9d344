//! The part of the flood an HTTP client library will not send: invalid UTF-8 in the request
//! target and in header values, broken framing, and bytes that are not HTTP at all. Written
//! to a plain socket; the answer is the status line, if the server sends one before closing.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::browser::Ctx;
use crate::flood::{ADDRESS, Rng};
use crate::stats::{Answer, Kind};

type Build = fn(&str, &mut Rng) -> Vec<u8>;

pub const SHAPES: [(&str, Build); 6] = [
    ("invalid UTF-8 target", invalid_utf8_target),
    ("invalid UTF-8 headers", invalid_utf8_headers),
    ("bad chunked body", bad_chunked_body),
    ("conflicting lengths", conflicting_lengths),
    ("not HTTP", not_http),
    ("header without a colon", header_without_colon),
];

const TIMEOUT: Duration = Duration::from_secs(5);

/// Sends `bytes` on a new connection and counts the answer; returns its status, if any.
pub async fn send(ctx: &Ctx, name: &'static str, bytes: &[u8]) -> Option<u16> {
    let started = Instant::now();
    let head = tokio::time::timeout(TIMEOUT, exchange(&ctx.base, bytes))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&head);
    let status = text
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.get(2..5))
        .and_then(|code| code.parse::<u16>().ok());
    let answer = match status {
        Some(code) => Answer::Status {
            code,
            retry_after: text.to_ascii_lowercase().contains("\r\nretry-after:"),
        },
        None => Answer::NoAnswer,
    };
    ctx.stats
        .record(Kind::Flood, name, answer, started.elapsed());
    status
}

/// Writes the request and reads until the end of the response head (or the connection).
async fn exchange(base: &str, bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let authority = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(authority).await?;
    stream.write_all(bytes).await?;
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    Ok(head)
}

/// A request head with our address, and `extra` header lines (each ending in CRLF).
fn head(method: &str, target: &[u8], extra: &[u8]) -> Vec<u8> {
    let mut bytes = format!("{method} ").into_bytes();
    bytes.extend_from_slice(target);
    bytes.extend_from_slice(b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    bytes.extend_from_slice(format!("X-Forwarded-For: {ADDRESS}\r\n").as_bytes());
    bytes.extend_from_slice(extra);
    bytes.extend_from_slice(b"\r\n");
    bytes
}

fn invalid_utf8_target(path: &str, rng: &mut Rng) -> Vec<u8> {
    let mut target = path.as_bytes().to_vec();
    let junk: &[u8] = rng.pick(&[
        b"?client_id=\xff\xfe&state=\xc3\x28".as_slice(),
        b"/\xed\xa0\x80",
        b"?request=\xf0\x28\x8c\x28",
        b"\x80\x80?a=b",
    ]);
    target.extend_from_slice(junk);
    head("GET", &target, b"")
}

fn invalid_utf8_headers(path: &str, rng: &mut Rng) -> Vec<u8> {
    let extra: &[u8] = rng.pick(&[
        b"Cookie: gatehouse_session=\xc3\x28\xff; gatehouse_session_csrf=\xfe\r\n".as_slice(),
        b"Authorization: Basic \xff\xfe\xfd\r\n",
        b"User-Agent: \xfe\xff\xc0\xaf\r\nForwarded: for=\xff\r\n",
        b"Content-Type: application/x-www-form-urlencoded; charset=\xff\r\n",
    ]);
    head("GET", path.as_bytes(), extra)
}

fn bad_chunked_body(path: &str, rng: &mut Rng) -> Vec<u8> {
    let mut bytes = head(
        "POST",
        path.as_bytes(),
        b"Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n",
    );
    let body: &[u8] = rng.pick(&[
        b"ZZ\r\ngrant_type=x\r\n0\r\n\r\n".as_slice(),
        b"5\r\ngrant_type=client_credentials\r\n0\r\n\r\n",
        b"ffffffffffffffffff\r\nx\r\n0\r\n\r\n",
        b"-1\r\n\r\n",
    ]);
    bytes.extend_from_slice(body);
    bytes
}

fn conflicting_lengths(path: &str, rng: &mut Rng) -> Vec<u8> {
    let extra: &[u8] = rng.pick(&[
        b"Content-Length: 5\r\nContent-Length: 50\r\n".as_slice(),
        b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
        b"Content-Length: -1\r\n",
        b"Content-Length: 99999999999999999999\r\n",
    ]);
    let mut extra = extra.to_vec();
    extra.extend_from_slice(b"Content-Type: application/x-www-form-urlencoded\r\n");
    let mut bytes = head("POST", path.as_bytes(), &extra);
    bytes.extend_from_slice(b"0\r\n\r\ngrant_type=client_credentials");
    bytes
}

fn not_http(_path: &str, rng: &mut Rng) -> Vec<u8> {
    // A TLS ClientHello's first bytes (a client speaking https to a plain port), then noise.
    let mut bytes = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec();
    bytes.extend((0..64).map(|_| rng.next() as u8));
    bytes.extend_from_slice(b"\r\n\r\n");
    bytes
}

fn header_without_colon(path: &str, rng: &mut Rng) -> Vec<u8> {
    let extra: &[u8] = rng.pick(&[
        b"this is not a header\r\n".as_slice(),
        b": no name\r\n",
        b"X-Folded: a\r\n continued\r\n",
        b"Bad Name: x\r\n",
    ]);
    head("GET", path.as_bytes(), extra)
}
