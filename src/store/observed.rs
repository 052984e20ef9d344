//! Every store call timed and counted by operation (`store_operation_duration_seconds`,
//! `store_errors_total`) and, for traces, a `store.<operation>` span under whatever called
//! it. The span is at debug level: off with the default log filter and enabled for the
//! trace exporter alone (see `telemetry::otel`), so it costs nothing unless traces go out.

use std::time::Duration;

use async_trait::async_trait;
use tracing::Instrument;

use super::{EphemeralStore, Store, StoreResult, Write};
use crate::metrics::{StoreMetrics, StoreOp};
use crate::telemetry::Stopwatch;

pub struct Observed {
    inner: Store,
    backend: &'static str,
    metrics: StoreMetrics,
}

impl Observed {
    pub fn new(inner: Store, backend: &'static str, metrics: StoreMetrics) -> Self {
        Self {
            inner,
            backend,
            metrics,
        }
    }

    async fn call<T>(
        &self,
        op: StoreOp,
        call: impl Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        let span = tracing::debug_span!(
            "store",
            otel.name = %format_args!("store.{}", op.as_str()),
            otel.kind = "client",
            db.system = self.backend,
            db.operation = op.as_str(),
        );
        let watch = Stopwatch::start();
        let result = call.instrument(span).await;
        self.metrics.observe(op, watch.elapsed(), result.is_ok());
        result
    }
}

#[async_trait]
impl EphemeralStore for Observed {
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> StoreResult<()> {
        self.call(StoreOp::Put, self.inner.put(key, value, ttl))
            .await
    }

    async fn put_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> StoreResult<bool> {
        let call = self.inner.put_if_absent(key, value, ttl);
        self.call(StoreOp::PutIfAbsent, call).await
    }

    async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        self.call(StoreOp::Get, self.inner.get(key)).await
    }

    async fn put_if_present(&self, key: &str, value: &[u8], ttl: Duration) -> StoreResult<bool> {
        let call = self.inner.put_if_present(key, value, ttl);
        self.call(StoreOp::PutIfPresent, call).await
    }

    async fn delete_if(&self, key: &str, value: &[u8]) -> StoreResult<bool> {
        let call = self.inner.delete_if(key, value);
        self.call(StoreOp::DeleteIf, call).await
    }

    async fn take(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        self.call(StoreOp::Take, self.inner.take(key)).await
    }

    async fn take_leaving(
        &self,
        key: &str,
        marker_key: &str,
        marker: &[u8],
        ttl: Duration,
    ) -> StoreResult<Option<Vec<u8>>> {
        let call = self.inner.take_leaving(key, marker_key, marker, ttl);
        self.call(StoreOp::TakeLeaving, call).await
    }

    async fn get_marking(
        &self,
        key: &str,
        marker_key: &str,
        marker: &[u8],
        ttl: Duration,
    ) -> StoreResult<Option<(Vec<u8>, bool)>> {
        let call = self.inner.get_marking(key, marker_key, marker, ttl);
        self.call(StoreOp::GetMarking, call).await
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.call(StoreOp::Delete, self.inner.delete(key)).await
    }

    async fn incr(&self, key: &str, ttl: Duration) -> StoreResult<i64> {
        self.call(StoreOp::Incr, self.inner.incr(key, ttl)).await
    }

    async fn counter(&self, key: &str) -> StoreResult<i64> {
        self.call(StoreOp::Counter, self.inner.counter(key)).await
    }

    async fn window(
        &self,
        current: &str,
        previous: &str,
        ttl: Duration,
        count: bool,
    ) -> StoreResult<(i64, i64)> {
        let call = self.inner.window(current, previous, ttl, count);
        self.call(StoreOp::Window, call).await
    }

    async fn set_add(&self, key: &str, member: &str, ttl: Duration) -> StoreResult<()> {
        let call = self.inner.set_add(key, member, ttl);
        self.call(StoreOp::SetAdd, call).await
    }

    async fn set_remove(&self, key: &str, member: &str) -> StoreResult<()> {
        let call = self.inner.set_remove(key, member);
        self.call(StoreOp::SetRemove, call).await
    }

    async fn set_members(&self, key: &str) -> StoreResult<Vec<String>> {
        self.call(StoreOp::SetMembers, self.inner.set_members(key))
            .await
    }

    async fn batch(&self, writes: &[Write]) -> StoreResult<()> {
        self.call(StoreOp::Batch, self.inner.batch(writes)).await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.call(StoreOp::Ping, self.inner.ping()).await
    }
}
