//! Log output that reaches stdout in batches rather than one `write` per line.
//!
//! Every request logs a line, and writing each one was a system call per request: at a few
//! thousand token requests a second on one core that cost 3–4% of the throughput (measured
//! with the load benchmark, info against warn filtering). Lines are collected and written
//! together every flush interval, when 64 KiB have gathered, and at once for warnings and
//! errors, so a failure reaches the log before anything else happens. As with nginx's
//! `access_log … buffer= flush=`, a process killed outright loses at most the last interval's
//! info lines; a graceful stop loses none (see [`FlushGuard`]).

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

/// Past this much gathered output a line's writer flushes without waiting for the timer.
const FLUSH_AT_BYTES: usize = 64 * 1024;

/// A `MakeWriter` for the subscriber; clones share one batch.
#[derive(Clone)]
pub struct BatchedStdout {
    shared: Arc<Shared>,
}

struct Shared {
    pending: Mutex<Vec<u8>>,
    /// Held while a batch is written, so batches reach it in the order they were taken.
    out: Mutex<Box<dyn Write + Send>>,
}

impl BatchedStdout {
    /// Batches for stdout, flushed every `interval` by a thread that ends with the writer.
    pub fn start(interval: Duration) -> Self {
        Self::start_with(interval, Box::new(std::io::stdout()))
    }

    fn start_with(interval: Duration, out: Box<dyn Write + Send>) -> Self {
        let shared = Arc::new(Shared {
            pending: Mutex::new(Vec::new()),
            out: Mutex::new(out),
        });
        let weak = Arc::downgrade(&shared);
        let spawned = std::thread::Builder::new()
            .name("log-flush".into())
            .spawn(move || flush_every(interval, weak));
        if let Err(error) = spawned {
            // Lines still reach stdout: warnings at once, the rest by size and at exit.
            eprintln!("gatehouse: no log flush thread ({error}); info lines are written late");
        }
        Self { shared }
    }

    /// Writes whatever has gathered.
    pub fn flush(&self) {
        self.shared.flush();
    }

    /// Flushes when dropped: hold it for as long as the server runs.
    pub fn flush_guard(&self) -> FlushGuard {
        FlushGuard(self.clone())
    }
}

/// Flushes the gathered lines when it goes out of scope (a normal exit, an error, a panic).
pub struct FlushGuard(BatchedStdout);

impl FlushGuard {
    /// Writes what has gathered so far, without waiting for the timer.
    pub fn flush(&self) {
        self.0.flush();
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.0.flush();
    }
}

fn flush_every(interval: Duration, shared: Weak<Shared>) {
    loop {
        std::thread::sleep(interval);
        match shared.upgrade() {
            Some(shared) => shared.flush(),
            None => return,
        }
    }
}

impl Shared {
    fn flush(&self) {
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        let batch = std::mem::take(&mut *self.pending());
        if !batch.is_empty() {
            // Nowhere to report a failed log write; tracing's own writers drop it too.
            let _ = out.write_all(&batch).and_then(|()| out.flush());
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Shared {
    /// The last handle is gone (the subscriber was replaced or torn down): nothing is left
    /// behind in the batch.
    fn drop(&mut self) {
        self.flush();
    }
}

/// One event's writer: appends to the batch, and flushes on drop when the event is urgent or
/// the batch is full.
pub struct LineWriter<'a> {
    shared: &'a Shared,
    urgent: bool,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.shared.pending().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter<'_> {
    fn drop(&mut self) {
        if self.urgent || self.shared.pending().len() >= FLUSH_AT_BYTES {
            self.shared.flush();
        }
    }
}

impl<'a> MakeWriter<'a> for BatchedStdout {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            shared: &self.shared,
            urgent: false,
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        LineWriter {
            shared: &self.shared,
            // Levels order by verbosity: WARN and ERROR are the ones at or below WARN.
            urgent: *meta.level() <= Level::WARN,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Sink {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn subscriber(writer: BatchedStdout) -> impl tracing::Subscriber {
        tracing_subscriber::fmt()
            .with_writer(writer)
            .with_ansi(false)
            .without_time()
            .finish()
    }

    #[test]
    fn info_lines_wait_and_a_warning_writes_them_in_order() {
        let sink = Sink::default();
        let writer = BatchedStdout::start_with(Duration::from_secs(3600), Box::new(sink.clone()));
        tracing::subscriber::with_default(subscriber(writer), || {
            tracing::info!("first");
            tracing::info!("second");
            assert_eq!(sink.text(), "", "info lines are batched");
            tracing::warn!("trouble");
        });
        let text = sink.text();
        let order: Vec<_> = ["first", "second", "trouble"]
            .iter()
            .map(|word| text.find(word).unwrap())
            .collect();
        assert!(order.is_sorted(), "{text}");
    }

    #[test]
    fn the_guard_and_the_timer_flush() {
        let sink = Sink::default();
        let writer = BatchedStdout::start_with(Duration::from_secs(3600), Box::new(sink.clone()));
        tracing::subscriber::with_default(subscriber(writer.clone()), || {
            tracing::info!("at exit");
        });
        drop(writer.flush_guard());
        assert!(sink.text().contains("at exit"));

        let sink = Sink::default();
        let writer = BatchedStdout::start_with(Duration::from_millis(10), Box::new(sink.clone()));
        tracing::subscriber::with_default(subscriber(writer.clone()), || {
            tracing::info!("soon");
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !sink.text().contains("soon") {
            assert!(
                std::time::Instant::now() < deadline,
                "not flushed by the timer"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(writer);
    }

    #[test]
    fn dropping_the_last_handle_writes_what_is_left() {
        let sink = Sink::default();
        let writer = BatchedStdout::start_with(Duration::from_secs(3600), Box::new(sink.clone()));
        tracing::subscriber::with_default(subscriber(writer), || {
            tracing::info!("last words");
        });
        assert!(sink.text().contains("last words"));
    }
}
