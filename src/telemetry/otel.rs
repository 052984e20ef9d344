//! Optional OpenTelemetry trace export (`otel.endpoint`): spans go out over OTLP/HTTP
//! (protobuf) to a collector, in batches from a thread of their own. A request that carries
//! a W3C `traceparent` (and `tracestate`) continues that trace; the store's and the
//! database's calls are its child spans. Off (and free) unless an endpoint is set.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::dev::ServiceRequest;
use actix_web::http::header::HeaderMap;
use anyhow::Context;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::TracerProvider;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracerProvider,
};
use tracing::{Metadata, Span};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::filter::{FilterExt, dynamic_filter_fn};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{EnvFilter, Layer, layer};

use crate::settings::OtelSettings;

/// What is exported: this crate's spans at info (requests, capability entry points) and the
/// store's at debug, sea-orm's statement spans, warnings from anything else. Not the HTTP
/// client's own spans, which would trace each export.
const EXPORTED: &str = "warn,gatehouse=info,gatehouse::store=debug,sea_orm=info";
/// How long finished spans wait to go out together.
const BATCH_DELAY: Duration = Duration::from_secs(2);
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether spans are exported. The tracing subscriber is process-wide, so this is too: set
/// once, when [`Traces::start`] installs the exporter.
static EXPORTING: AtomicBool = AtomicBool::new(false);

pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// The exporter of a server with `otel.endpoint` set; [`shutdown`](Self::shutdown) sends
/// what is left.
pub struct Traces {
    provider: SdkTracerProvider,
}

impl Traces {
    /// `None` when no endpoint is configured.
    pub fn start(settings: &OtelSettings) -> anyhow::Result<Option<Self>> {
        let Some(endpoint) = &settings.endpoint else {
            return Ok(None);
        };
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(traces_url(endpoint))
            .with_timeout(EXPORT_TIMEOUT)
            .with_http_client(Blocking::new()?)
            .build()
            .context("invalid configuration: otel.endpoint")?;
        let batches = BatchConfigBuilder::default()
            .with_scheduled_delay(BATCH_DELAY)
            .build();
        let processor = BatchSpanProcessor::builder(exporter)
            .with_batch_config(batches)
            .build();
        let sampler = Sampler::TraceIdRatioBased(settings.sample_ratio);
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_sampler(Sampler::ParentBased(Box::new(sampler)))
            .with_resource(
                Resource::builder()
                    .with_service_name(settings.service_name.clone())
                    .build(),
            )
            .build();
        EXPORTING.store(true, Ordering::Relaxed);
        Ok(Some(Self { provider }))
    }

    /// The tracing layer that turns spans into OpenTelemetry spans. A statement or store
    /// call outside any exported span (the mail worker's polls, the key watcher's reads,
    /// start-up) is left out: a trace a second of background polling would bury the
    /// requests' traces.
    pub(super) fn layer<S>(&self) -> impl Layer<S> + Send + Sync + use<S>
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    {
        let tracer = self.provider.tracer("gatehouse");
        let in_a_trace = dynamic_filter_fn(|meta: &Metadata<'_>, cx: &layer::Context<'_, S>| {
            !is_call_span(meta) || cx.lookup_current().is_some()
        });
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_filter(EnvFilter::new(EXPORTED).and(in_a_trace))
    }

    /// Exports the spans still waiting, then stops the exporter. Blocks.
    pub fn shutdown(self) {
        if let Err(error) = self.provider.shutdown() {
            tracing::warn!(error = %error, "trace export did not shut down cleanly");
        }
    }
}

/// A database statement's or a store call's span.
fn is_call_span(meta: &Metadata<'_>) -> bool {
    meta.is_span()
        && (meta.target().starts_with("sea_orm") || meta.target().starts_with("gatehouse::store"))
}

/// The collector's base URL (as `OTEL_EXPORTER_OTLP_ENDPOINT` takes it) with the traces
/// path; a URL that already ends in it is used as it is.
fn traces_url(endpoint: &url::Url) -> String {
    let base = endpoint.as_str().trim_end_matches('/');
    match base.ends_with("/v1/traces") {
        true => base.to_owned(),
        false => format!("{base}/v1/traces"),
    }
}

/// Makes the request's span a server span named after its route (`POST /token`), and
/// continues the caller's trace when the request carries a `traceparent`. Only before the
/// span is first entered: a started span keeps its name, kind and parent.
pub(super) fn server_span(span: &Span, request: &ServiceRequest) {
    if !exporting() {
        return;
    }
    let pattern = request.match_pattern();
    let route = pattern.as_deref().unwrap_or("unmatched");
    let name = format_args!("{} {route}", request.method());
    span.record("otel.name", tracing::field::display(name));
    span.record("otel.kind", "server");
    span.record("http.route", route);
    let headers = request.headers();
    if headers.contains_key("traceparent") {
        let parent = TraceContextPropagator::new().extract(&Headers(headers));
        // A span the exporter does not see (filtered out, unsampled) has no parent to set.
        let _ = span.set_parent(parent);
    }
}

/// actix's header map as a propagation carrier.
struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|name| name.as_str()).collect()
    }
}

/// OTLP over reqwest's blocking client (the batch thread has no async runtime), on the
/// reqwest and rustls the server already has. Failures are logged when they start and
/// when they end, not once per batch.
#[derive(Debug)]
struct Blocking {
    client: reqwest::blocking::Client,
    failing: AtomicBool,
}

impl Blocking {
    fn new() -> anyhow::Result<Self> {
        // Built (and later dropped) off the async runtime, which the blocking client's own
        // runtime must not run inside.
        let build = || {
            reqwest::blocking::Client::builder()
                .timeout(EXPORT_TIMEOUT)
                .build()
        };
        let client = std::thread::spawn(build)
            .join()
            .map_err(|_| anyhow::anyhow!("building the trace exporter's client panicked"))?
            .context("the trace exporter's HTTP client")?;
        Ok(Self {
            client,
            failing: AtomicBool::new(false),
        })
    }

    fn send(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let (parts, body) = request.into_parts();
        let sent = self
            .client
            .request(parts.method, parts.uri.to_string())
            .headers(parts.headers)
            .body(body.to_vec())
            .send()?;
        let mut response = Response::builder().status(sent.status());
        for (name, value) in sent.headers() {
            response = response.header(name, value);
        }
        Ok(response.body(sent.bytes()?)?)
    }

    fn report(&self, outcome: Result<&Response<Bytes>, &HttpError>) {
        let failed = match outcome {
            Ok(response) if response.status().is_success() => None,
            Ok(response) => Some(format!("the collector answered {}", response.status())),
            Err(error) => Some(error.to_string()),
        };
        let was_failing = self.failing.swap(failed.is_some(), Ordering::Relaxed);
        match failed {
            Some(error) if !was_failing => {
                tracing::warn!(error = %error, "trace export failed; spans are dropped until it recovers");
            }
            None if was_failing => tracing::info!("trace export works again"),
            _ => {}
        }
    }
}

#[async_trait::async_trait]
impl HttpClient for Blocking {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let result = self.send(request);
        self.report(result.as_ref());
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_traces_path_is_added_once() {
        let url = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(
            traces_url(&url("http://collector:4318")),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            traces_url(&url("https://otel.example.com/otlp/")),
            "https://otel.example.com/otlp/v1/traces"
        );
        assert_eq!(
            traces_url(&url("http://collector:4318/v1/traces")),
            "http://collector:4318/v1/traces"
        );
    }
}
