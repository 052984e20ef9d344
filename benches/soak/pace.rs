//! Open-loop pacing: start one task every 1/rate seconds until the deadline, with a bound on
//! how many may be in flight. A slow server does not slow the sender down (that would hide
//! the load it is meant to feel); a tick that finds every slot busy is skipped and counted,
//! so the report can say how much of the intended load was really sent.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::MissedTickBehavior;

use crate::browser::Ctx;

/// Runs `make(n)` for n = 0, 1, 2… at `rate` per second; returns once the last one ended.
/// Counts `{name}.sent` and `{name}.skipped`.
pub async fn paced<F, Fut>(ctx: &Arc<Ctx>, name: &str, rate: u32, in_flight: u32, mut make: F)
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    if rate == 0 {
        return;
    }
    let slots = Arc::new(Semaphore::new(in_flight as usize));
    let mut tick = tokio::time::interval(Duration::from_secs(1) / rate);
    // A driver that fell behind (two shared cores) catches up, so the mean rate holds.
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut n = 0;
    while ctx.running() {
        tick.tick().await;
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            ctx.stats.event(format!("{name}.skipped"));
            continue;
        };
        ctx.stats.event(format!("{name}.sent"));
        let work = make(n);
        n += 1;
        tokio::spawn(async move {
            work.await;
            drop(slot);
        });
    }
    // Every request has a client timeout, so this wait is bounded.
    let _all_done = slots.acquire_many(in_flight).await;
}
