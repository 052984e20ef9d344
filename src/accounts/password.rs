//! Argon2id password hashing: PHC strings, parameters from config, run on a fixed pool of
//! hashing threads so a login storm queues instead of starving the token endpoint.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, anyhow};
use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use crate::metrics::{Argon2Metrics, Metrics};
use crate::settings::PasswordSettings;
use crate::telemetry::Stopwatch;

#[derive(Clone)]
pub struct Passwords {
    argon: Argon2<'static>,
    pool: HashPool,
    metrics: Argon2Metrics,
    /// Verified against when the user does not exist, so timing does not reveal who does.
    dummy_hash: Arc<str>,
}

impl Passwords {
    pub fn new(settings: &PasswordSettings, metrics: &Metrics) -> anyhow::Result<Self> {
        let params = Params::new(
            settings.memory_kib,
            settings.iterations,
            settings.parallelism,
            None,
        )
        .map_err(|e| anyhow!("invalid configuration: passwords: {e}"))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        // Any PHC string with our parameters costs a full verification; this one never
        // matches, and needs no hashing at start-up.
        let dummy_hash = format!(
            "$argon2id$v=19$m={},t={},p={}$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            settings.memory_kib, settings.iterations, settings.parallelism
        );
        let concurrency = match settings.max_concurrent {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let queued = match settings.max_queued {
            0 => 4 * concurrency,
            n => n,
        };
        Ok(Self {
            argon,
            pool: HashPool::start(concurrency, concurrency + queued)?,
            metrics: metrics.argon2(),
            dummy_hash: dummy_hash.into(),
        })
    }

    /// A PHC string (`$argon2id$v=19$m=…`) for a new password.
    pub async fn hash(&self, password: &SecretString) -> anyhow::Result<String> {
        let argon = self.argon.clone();
        let password = password.clone();
        self.blocking(move || hash_reusing_memory(&argon, password.expose_secret().as_bytes()))
            .await
    }

    /// Checks a password against a stored PHC string, or against a dummy when there is none.
    pub async fn verify(
        &self,
        password: &SecretString,
        stored: Option<&str>,
    ) -> anyhow::Result<bool> {
        let known = stored.is_some();
        let phc: Arc<str> = stored.map_or_else(|| self.dummy_hash.clone(), Arc::from);
        let password = password.clone();
        let matches = self
            .blocking(move || {
                Ok(verify_reusing_memory(
                    password.expose_secret().as_bytes(),
                    &phc,
                ))
            })
            .await?;
        Ok(known && matches)
    }

    /// Runs `work` on the pool, or fails at once with [`Busy`] when the pool already holds
    /// its bound of jobs (running and waiting): a login flood is answered, not queued.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let held = JobSlot::take(&self.pool).inspect_err(|_| self.metrics.refused())?;
        let (done, result) = tokio::sync::oneshot::channel();
        let span = tracing::Span::current();
        let (metrics, queued) = (self.metrics.clone(), Stopwatch::start());
        let job: Job = Box::new(move || {
            metrics.started(queued.elapsed());
            let _ = done.send(span.in_scope(work));
            drop(held);
        });
        self.metrics.queued();
        if self.pool.jobs.send(job).is_err() {
            self.metrics.started(queued.elapsed());
            anyhow::bail!("password hasher stopped");
        }
        result.await.context("password task")?
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// Every hashing thread is busy and the queue is full: try again in a moment (503).
#[derive(Debug, thiserror::Error)]
#[error("the password hasher is at capacity")]
pub struct Busy;

/// One of the pool's places, held from submission until the job has run (even when the
/// request that submitted it has gone away meanwhile).
struct JobSlot(Arc<AtomicUsize>);

impl JobSlot {
    fn take(pool: &HashPool) -> Result<Self, Busy> {
        let held = pool.jobs_held.fetch_add(1, Ordering::AcqRel);
        let slot = Self(pool.jobs_held.clone());
        if held >= pool.capacity {
            return Err(Busy);
        }
        Ok(slot)
    }
}

impl Drop for JobSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Hashing threads yield to the request workers: on a busy core a token request then waits
/// for the scheduler's next slice, not behind a whole Argon2 hash (Linux niceness is per
/// thread). Failure only means fairer sharing, so it is ignored.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority has no memory-safety preconditions; `who = 0` is this thread.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

/// The next job: waiting for one, or (`only_queued`) only one already waiting. `None` when
/// there is none queued, or the pool is shutting down.
fn next_job(
    queue: &std::sync::Mutex<std::sync::mpsc::Receiver<Job>>,
    only_queued: bool,
) -> Option<Job> {
    let receiver = queue.lock().ok()?;
    if only_queued {
        receiver.try_recv().ok()
    } else {
        receiver.recv().ok()
    }
}

/// A fixed set of threads for Argon2: bounds concurrency (a login storm queues instead of
/// starving the async workers) and memory (one working buffer per thread, kept only while
/// work is queued).
#[derive(Clone)]
struct HashPool {
    jobs: std::sync::mpsc::Sender<Job>,
    /// Jobs submitted and not yet finished, at most `capacity`.
    jobs_held: Arc<AtomicUsize>,
    capacity: usize,
}

impl HashPool {
    fn start(threads: usize, capacity: usize) -> anyhow::Result<Self> {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for n in 0..threads {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || {
                    lower_priority();
                    while let Some(job) = next_job(&queue, false) {
                        job();
                        // Keep the memory while work is queued (a login storm); give it back
                        // as soon as the queue is empty.
                        while let Some(job) = next_job(&queue, true) {
                            job();
                        }
                        MEMORY.with_borrow_mut(|m| *m = Vec::new());
                    }
                })?;
        }
        Ok(Self {
            jobs,
            jobs_held: Arc::new(AtomicUsize::new(0)),
            capacity,
        })
    }
}

thread_local! {
    /// Argon2's working memory (19 MiB at OWASP parameters), kept by each hashing thread while
    /// work is queued: a fresh allocation per login costs thousands of page faults, about
    /// half the hash time.
    static MEMORY: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `Argon2::hash_password` on this thread's reusable memory: a PHC string (built by the
/// `phc` crate) with a random 16-byte salt and a 32-byte output. The crate's own
/// `hash_password`/`verify_password` allocate Argon2's memory on every call, which costs
/// thousands of page faults, about half the hash time; this is the only reason for the two
/// functions below.
fn hash_reusing_memory(argon: &Argon2<'_>, password: &[u8]) -> anyhow::Result<String> {
    use argon2::password_hash::phc::{Output, ParamsString, Salt};
    use rand::RngCore;
    let params = argon.params();
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let mut out = [0u8; 32];
    MEMORY
        .with_borrow_mut(|memory| {
            let blocks = params.block_count();
            if memory.len() < blocks {
                memory.resize(blocks, Block::default());
            }
            argon.hash_password_into_with_memory(password, &salt, &mut out, &mut memory[..blocks])
        })
        .map_err(|e| anyhow!("argon2: {e}"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| anyhow!("argon2 params: {e}"))?,
        salt: Some(Salt::new(&salt).map_err(|e| anyhow!("argon2 salt: {e}"))?),
        hash: Some(Output::new(&out).map_err(|e| anyhow!("argon2 output: {e}"))?),
    };
    Ok(phc.to_string())
}

/// `Argon2::verify_password`, but on this thread's reusable memory; constant-time compare.
fn verify_reusing_memory(password: &[u8], phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let (Ok(params), Ok(algorithm)) = (
        Params::try_from(&hash),
        Algorithm::try_from(hash.algorithm.as_str()),
    ) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from) {
        None => Version::V0x13,
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let blocks = params.block_count();
    let argon = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.as_bytes().len()];
    MEMORY.with_borrow_mut(|memory| {
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        let computed = argon.hash_password_into_with_memory(
            password,
            salt.as_ref(),
            &mut out,
            &mut memory[..blocks],
        );
        computed.is_ok() && bool::from(out.ct_eq(expected.as_bytes()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passwords() -> Passwords {
        let metrics = Metrics::new().unwrap();
        Passwords::new(
            &PasswordSettings {
                memory_kib: 19456,
                iterations: 2,
                parallelism: 1,
                max_concurrent: 1,
                max_queued: 0,
                min_strength: 3,
            },
            &metrics,
        )
        .unwrap()
    }

    #[test]
    fn the_dummy_hash_costs_a_full_verification() {
        // If it failed to parse, unknown users would be answered instantly (a timing leak).
        let p = passwords();
        let hash = PasswordHash::new(&p.dummy_hash).unwrap();
        assert!(Params::try_from(&hash).is_ok());
        assert!(hash.salt.is_some() && hash.hash.is_some());
    }

    #[tokio::test]
    async fn hashes_are_argon2id_phc_and_verify() {
        let p = passwords();
        let secret = SecretString::from("Admin@123");
        let phc = p.hash(&secret).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        // The argon2 crate's own verifier agrees with our PHC string.
        use argon2::password_hash::PasswordVerifier;
        let parsed = PasswordHash::new(&phc).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"Admin@123", &parsed)
                .is_ok()
        );
        assert!(p.verify(&secret, Some(&phc)).await.unwrap());
        assert!(
            !p.verify(&SecretString::from("nope"), Some(&phc))
                .await
                .unwrap()
        );
        assert!(!p.verify(&secret, None).await.unwrap());
    }

    #[tokio::test]
    async fn a_full_pool_refuses_at_once_and_recovers() {
        let metrics = Metrics::new().unwrap();
        let p = Passwords::new(
            &PasswordSettings {
                memory_kib: 19456,
                iterations: 2,
                parallelism: 1,
                max_concurrent: 1,
                max_queued: 1,
                min_strength: 3,
            },
            &metrics,
        )
        .unwrap();
        let secret = SecretString::from("x");
        let attempts = (0..6).map(|_| p.verify(&secret, None));
        let results = futures_util::future::join_all(attempts).await;
        let busy = results
            .iter()
            .filter(|r| r.as_ref().is_err_and(|e| e.is::<Busy>()))
            .count();
        assert_eq!(busy, 4, "one running, one waiting, the rest refused");
        assert!(!p.verify(&secret, None).await.unwrap(), "room again");
        let text = metrics.encode().unwrap();
        assert!(
            text.contains("gatehouse_argon2_rejections_total 4"),
            "{text}"
        );
        assert!(text.contains("gatehouse_argon2_queue_depth 0"), "{text}");
        assert!(
            text.contains("gatehouse_argon2_queue_wait_seconds_count 3"),
            "{text}"
        );
    }
}
