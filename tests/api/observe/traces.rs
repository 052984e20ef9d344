//! Traces for real: the `gatehouse` binary with `otel.endpoint` pointed at an OTLP/HTTP
//! receiver in this test, a request carrying a W3C `traceparent`, and the spans that
//! arrive decoded from protobuf: the request continues the caller's trace, and the database
//! and store calls it made are its children.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader as AsyncBufReader};
use tokio::net::TcpListener;

/// One POST the receiver took: its path, content type and body.
type Received = Arc<Mutex<Vec<(String, String, Vec<u8>)>>>;

/// A minimal OTLP/HTTP receiver: answers every request 200, keeps what was posted.
async fn receiver() -> (String, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let received = Received::default();
    let keep = received.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(serve_connection(socket, keep.clone()));
        }
    });
    (address, received)
}

async fn serve_connection(socket: tokio::net::TcpStream, received: Received) {
    let mut reader = AsyncBufReader::new(socket);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await.unwrap_or(0) == 0 {
            return;
        }
        let path = request_line
            .split(' ')
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        let (mut length, mut content_type) = (0, String::new());
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).await.unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap(),
                "content-type" => content_type = value.trim().to_owned(),
                _ => {}
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await.unwrap();
        received.lock().unwrap().push((path, content_type, body));
        let ok =
            "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
        reader.get_mut().write_all(ok.as_bytes()).await.unwrap();
    }
}

/// The server process, killed if the test ends before it stops it.
struct Server(Option<Child>);

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }
}

/// The server binary on a fresh SQLite file, exporting to `endpoint`; returns it and its port.
fn start_server(dir: &std::path::Path, endpoint: &str) -> (Server, u16) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("serve")
        .current_dir(dir)
        .env_remove("GATEHOUSE_CONFIG")
        .env_remove("RUST_LOG")
        .env("GATEHOUSE__SERVER__LISTEN", "127.0.0.1:0")
        .env(
            "GATEHOUSE__DATABASE__URL",
            format!("sqlite://{}/g.db?mode=rwc", dir.display()),
        )
        .env("GATEHOUSE__METRICS__LISTEN", "off")
        // Stop at the SIGTERM, without the drain a load balancer would need.
        .env("GATEHOUSE__SERVER__DRAIN_SECS", "0")
        .env("GATEHOUSE__OTEL__ENDPOINT", endpoint)
        .env("GATEHOUSE__LOG__FORMAT", "json")
        .env("GATEHOUSE__LOG__FLUSH_INTERVAL_MS", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port = loop {
        let line = lines.next().expect("the server printed its port").unwrap();
        let entry: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if entry["message"] == "gatehouse is listening" {
            break entry["port"].as_u64().unwrap() as u16;
        }
    };
    // Keep reading, so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (Server(Some(child)), port)
}

/// Stops the server as an orchestrator would (SIGTERM) and waits for it to exit.
fn stop(mut server: Server) {
    let mut child = server.0.take().unwrap();
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill has no memory-safety preconditions; the pid is our own child's.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    for _ in 0..200 {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "the server exits cleanly: {status}");
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().ok();
    panic!("the server did not stop");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn spans(received: &Received) -> (Vec<Span>, Vec<String>) {
    let mut spans = Vec::new();
    let mut services = Vec::new();
    for (path, content_type, body) in received.lock().unwrap().iter() {
        assert_eq!(path, "/v1/traces");
        assert_eq!(content_type, "application/x-protobuf");
        let export = ExportTraceServiceRequest::decode(body.as_slice()).unwrap();
        for resource in export.resource_spans {
            let attributes = resource.resource.map(|r| r.attributes).unwrap_or_default();
            let service = attributes.iter().find(|a| a.key == "service.name");
            services.push(format!("{:?}", service.and_then(|a| a.value.clone())));
            spans.extend(resource.scope_spans.into_iter().flat_map(|s| s.spans));
        }
    }
    (spans, services)
}

/// Whether `span` descends from the span with id `ancestor` within `spans`.
fn descends(span: &Span, ancestor: &[u8], spans: &[Span]) -> bool {
    let mut parent = span.parent_span_id.clone();
    for _ in 0..spans.len() {
        if parent == ancestor {
            return true;
        }
        match spans.iter().find(|s| s.span_id == parent) {
            Some(up) => parent = up.parent_span_id.clone(),
            None => return false,
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traced_request_is_exported_with_its_database_and_store_calls() {
    let (endpoint, received) = receiver().await;
    let dir = std::env::temp_dir().join(format!("gatehouse-otel-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let (server, port) = start_server(&dir, &endpoint);
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";

    let answer = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/token"))
        .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
        // A known client with a wrong secret: read from the database, and its failure
        // spent from the address's budget in the store.
        .basic_auth("demo-web", Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    tokio::task::spawn_blocking(move || stop(server))
        .await
        .unwrap();

    assert_eq!(answer.status(), 401);
    let (spans, services) = spans(&received);
    let request = spans
        .iter()
        .find(|s| hex(&s.trace_id) == trace_id && s.name == "POST /token")
        .unwrap_or_else(|| panic!("no request span in {:#?}", spans));
    assert_eq!(
        hex(&request.parent_span_id),
        caller_span,
        "the caller's span is the parent"
    );
    assert!(
        services.iter().all(|s| s.contains("gatehouse")),
        "{services:?}"
    );
    let in_request = |prefix: &str| {
        spans.iter().any(|s| {
            s.name.starts_with(prefix)
                && hex(&s.trace_id) == trace_id
                && descends(s, &request.span_id, &spans)
        })
    };
    assert!(
        in_request("sea_orm."),
        "a database call under the request: {spans:#?}"
    );
    assert!(
        in_request("store."),
        "a store call under the request: {spans:#?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
