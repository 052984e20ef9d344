//! Tracing setup (log lines, and spans exported over OTLP when configured), request ids,
//! latency timing for the metrics, and a `spawn_blocking` that keeps the caller's span.

mod batched;
pub mod otel;
pub mod request_id;
mod stopwatch;

use std::io::IsTerminal;

use tracing::Span;
use tracing::field::Empty;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::settings::{LogFormat, LogSettings, OtelSettings};

pub use batched::{BatchedStdout, FlushGuard};
pub use otel::Traces;
pub use stopwatch::Stopwatch;

/// Installs the global subscriber: human or JSON lines, filtered by `log.filter` or `RUST_LOG`.
pub fn init<W>(settings: &LogSettings, writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    install(settings, writer, None);
}

/// As [`init`], and with `otel.endpoint` set, spans exported too: keep the returned
/// exporter and [`shut it down`](Traces::shutdown) at the end to send the last of them.
pub fn init_with_traces<W>(
    log: &LogSettings,
    otel: &OtelSettings,
    writer: W,
) -> anyhow::Result<Option<Traces>>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let traces = Traces::start(otel)?;
    install(log, writer, traces.as_ref());
    Ok(traces)
}

fn install<W>(settings: &LogSettings, writer: W, traces: Option<&Traces>)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.filter));
    // Colour codes only for a person at a terminal, not in files and log collectors.
    let ansi = std::io::stdout().is_terminal();
    let lines = tracing_subscriber::fmt::layer()
        .with_ansi(ansi)
        .with_writer(writer);
    let lines: Box<dyn Layer<Registry> + Send + Sync> = match settings.format {
        LogFormat::Human => lines.boxed(),
        LogFormat::Json => lines
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .boxed(),
    };
    let subscriber = tracing_subscriber::registry().with(lines.with_filter(filter));
    let result = match traces {
        Some(traces) => subscriber.with(traces.layer()).try_init(),
        None => subscriber.try_init(),
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
}

/// Runs CPU-heavy work (argon2, RSA) on the blocking pool inside the current span.
pub fn spawn_blocking_with_tracing<F, R>(work: F) -> tokio::task::JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let span = Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(work))
}

/// Root span per request: method, path **without the query string** (it may carry codes,
/// tokens or hints we must not log), and the request id; one line when the response leaves.
/// The `otel.*` and `http.*` fields are filled in only for the trace exporter.
pub struct RequestSpan;

impl tracing_actix_web::RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &actix_web::dev::ServiceRequest) -> Span {
        let request_id = request_id::assign(request);
        let span = tracing::info_span!(
            "request",
            method = %request.method(),
            path = %request.path(),
            request_id = %request_id,
            otel.name = Empty,
            otel.kind = Empty,
            otel.status_code = Empty,
            http.route = Empty,
            http.response.status_code = Empty,
        );
        otel::server_span(&span, request);
        span
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        let _entered = span.enter();
        match outcome {
            Ok(response) => tracing::info!(status = response.status().as_u16(), "request finished"),
            Err(error) => tracing::warn!(error = %error, "request failed"),
        }
    }
}

/// The answer's status on the request's span (the current one), for the trace exporter.
pub fn record_status(status: u16) {
    if !otel::exporting() {
        return;
    }
    let span = Span::current();
    span.record("http.response.status_code", status);
    if status >= 500 {
        span.record("otel.status_code", "ERROR");
    }
}
