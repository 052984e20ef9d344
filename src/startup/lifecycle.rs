//! Signals: SIGTERM drains (`/readyz` answers 503 at once, requests are served for
//! `server.drain_secs`, then the listener closes and requests in flight finish within
//! `server.shutdown_timeout_secs`); a second SIGTERM or a SIGINT stops without the drain;
//! SIGHUP reads the TLS certificate and key again.

use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::web;
use tokio::signal::unix::{Signal, SignalKind, signal};

use super::tls::Certificates;
use crate::http::health::Draining;

pub(super) struct Lifecycle {
    pub handle: ServerHandle,
    pub draining: web::Data<Draining>,
    pub drain: Duration,
    pub tls: Option<Arc<Certificates>>,
}

impl Lifecycle {
    /// Follows the signals until the server is told to stop.
    pub async fn watch(self) -> std::io::Result<()> {
        let mut term = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut hangup = signal(SignalKind::hangup())?;
        loop {
            tokio::select! {
                _ = term.recv() => {
                    self.drain_then_stop(&mut term, &mut interrupt).await;
                    return Ok(());
                }
                _ = interrupt.recv() => {
                    tracing::info!("SIGINT: stopping");
                    self.stop().await;
                    return Ok(());
                }
                _ = hangup.recv() => self.reload_tls(),
            }
        }
    }

    async fn drain_then_stop(&self, term: &mut Signal, interrupt: &mut Signal) {
        let drain_secs = self.drain.as_secs();
        tracing::info!(drain_secs, "SIGTERM: draining, /readyz answers 503");
        self.draining.start();
        tokio::select! {
            _ = tokio::time::sleep(self.drain) => {}
            _ = term.recv() => tracing::info!("SIGTERM again: the drain is cut short"),
            _ = interrupt.recv() => tracing::info!("SIGINT: the drain is cut short"),
        }
        self.stop().await;
    }

    /// Closes the listener; requests in flight finish (actix's graceful stop).
    async fn stop(&self) {
        self.draining.start();
        tracing::info!("closing the listener; requests in flight finish");
        self.handle.stop(true).await;
    }

    fn reload_tls(&self) {
        let Some(tls) = &self.tls else {
            tracing::info!("SIGHUP: no TLS certificate to read again (server.tls is off)");
            return;
        };
        match tls.reload() {
            Ok(()) => tracing::info!("SIGHUP: TLS certificate and key read again"),
            Err(e) => tracing::error!(
                error = format!("{e:#}"),
                "SIGHUP: cannot read the TLS certificate and key; the current ones stay"
            ),
        }
    }
}
