//! The metrics listener (`metrics.listen`): `/metrics` on a port of its own, so the main
//! port never serves it, with the gauges sampled at each scrape.

use std::future::Future;
use std::net::{SocketAddr, TcpListener};

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};

use super::Parts;
use crate::http;
use crate::metrics::{Exposition, Sampler};
use crate::settings::Settings;

/// The listener `metrics.listen` names, bound now so a taken port stops the start.
pub(super) fn bind(settings: &Settings) -> anyhow::Result<Option<TcpListener>> {
    let Some(listen) = settings.metrics.listen else {
        return Ok(None);
    };
    let listener = TcpListener::bind(listen)
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen} (metrics.listen): {e}"))?;
    Ok(Some(listener))
}

impl Parts {
    /// The registry and what brings its gauges up to date: the outbox, the signing keys'
    /// ages and the session estimate.
    fn exposition(&self) -> Exposition {
        let (keys, clock, metrics) = (self.keys.clone(), self.clock.clone(), self.metrics.clone());
        let key_ages: Sampler = Box::new(move || {
            keys.report_ages(&metrics, clock.now());
            Box::pin(async {})
        });
        let (sessions, clock) = (self.sessions.clone(), self.clock.clone());
        let sessions: Sampler = Box::new(move || {
            sessions.report(clock.now().secs());
            Box::pin(async {})
        });
        let outbox =
            crate::mail::outbox_sampler(self.db.clone(), self.clock.clone(), self.metrics.clone());
        Exposition {
            metrics: self.metrics.clone(),
            samplers: vec![key_ages, sessions, outbox],
        }
    }

    /// One worker, no signal handling of its own: it stops when the main server has.
    pub(super) fn metrics_server(&self, listener: TcpListener) -> anyhow::Result<MetricsServer> {
        let address = listener.local_addr()?;
        let exposition = web::Data::new(self.exposition());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(exposition.clone())
                .configure(http::observe::configure_metrics)
        })
        .workers(1)
        .disable_signals()
        .listen(listener)?
        .run();
        tracing::info!(%address, "metrics listening");
        Ok(MetricsServer { server, address })
    }
}

/// The metrics listener's server, and where it listens.
pub(super) struct MetricsServer {
    server: Server,
    pub address: SocketAddr,
}

impl MetricsServer {
    /// Runs `metrics` (if any) until `main` has finished, then stops it, letting a scrape
    /// in flight finish: the main server's drain and stop can still be watched.
    pub(super) async fn outlive<T>(metrics: Option<Self>, main: impl Future<Output = T>) -> T {
        let Some(metrics) = metrics else {
            return main.await;
        };
        let handle = metrics.server.handle();
        let running = tokio::spawn(metrics.server);
        let result = main.await;
        handle.stop(true).await;
        let _ = running.await;
        result
    }
}
