//! What the status API's handlers share: the queue and the worker registry once Redis has
//! answered, the throughput sampler, and the last readiness verdict.
//!
//! The server listens before Redis answers, so that Kubernetes can probe it: liveness says
//! "up", readiness says "Redis unreachable" with the last connection error, and every other
//! route answers 503 until [`connect`] has succeeded.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::AsyncConnectionConfig;
use session03_workers::Queue as _;
use session04_redis::RedisQueue;
use session04_redis::cli::QueueArgs;
use session04_redis::connect::is_auth_error;
use session05_distributed::registry::{Registry, RegistryConfig};
use tokio::sync::OnceCell;

use crate::error::ApiError;
use crate::readiness::Readiness;
use crate::throughput::{Sampler, Throughput};

/// How long one request may wait for Redis, all its calls together, before it answers 503.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(5);
/// The same for `/api/ready`: shorter than the readiness probe's `timeoutSeconds` (3 in
/// the manifests), so the kubelet gets the 503 rather than a timeout.
pub const READY_DEADLINE: Duration = Duration::from_secs(2);
/// How long one connection attempt may take.
const ATTEMPT_DEADLINE: Duration = Duration::from_secs(2);

/// The queue and the registry, open.
#[derive(Clone)]
pub struct Connected {
    /// The queue.
    pub queue: RedisQueue,
    /// The worker registry beside it.
    pub registry: Registry,
}

/// The handlers' shared state.
#[derive(Default)]
pub struct AppState {
    connected: OnceCell<Connected>,
    last_error: Mutex<Option<String>>,
    sampler: Mutex<Sampler>,
    ready: Mutex<Option<bool>>,
}

impl AppState {
    /// A state whose queue is already open (tests, and a later session's embedding).
    pub fn with(connected: Connected) -> Self {
        Self {
            connected: OnceCell::from(connected),
            ..Self::default()
        }
    }

    /// The queue and registry, or 503 with the last connection error.
    pub fn connected(&self) -> Result<&Connected, ApiError> {
        self.connected.get().ok_or_else(|| {
            let last = self.last_error.lock().ok().and_then(|e| e.clone());
            ApiError::Unavailable(match last {
                Some(error) => format!("not connected to Redis yet: {error}"),
                None => "not connected to Redis yet".to_owned(),
            })
        })
    }

    /// Tasks that succeeded per second, from the samples taken so far.
    pub fn throughput(&self) -> Throughput {
        lock(&self.sampler).rate()
    }

    /// Keeps the verdict, and logs it when it changes: the kubelet's events show only
    /// "HTTP probe failed with statuscode: 503", so `kubectl logs` is where the reasons go.
    pub fn note_readiness(&self, verdict: &Readiness) {
        let before = lock(&self.ready).replace(verdict.ready);
        if before != Some(verdict.ready) {
            if verdict.ready {
                tracing::info!("ready");
            } else {
                tracing::warn!(reasons = ?verdict.reasons, "not ready");
            }
        }
    }

    /// Samples the "succeeded, ever" counter every `every`, for as long as it runs.
    pub async fn sample_throughput(&self, every: Duration) {
        let Ok(connected) = self.connected() else {
            return;
        };
        loop {
            let asked = Instant::now();
            match tokio::time::timeout(ATTEMPT_DEADLINE, connected.queue.stats()).await {
                Ok(Ok(stats)) => lock(&self.sampler).record(asked, stats.succeeded),
                Ok(Err(error)) => tracing::debug!(%error, "cannot sample throughput"),
                Err(_) => tracing::debug!("cannot sample throughput: Redis is slow"),
            }
            tokio::time::sleep(every).await;
        }
    }
}

/// Locks `mutex`, even if a panic poisoned it (the data stays consistent: one assignment).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

// ANCHOR: connect
/// Connects the queue and the registry, one attempt every `retry` until Redis answers; each
/// failure is logged and kept for the 503s to quote. Fails only when waiting cannot help:
/// a malformed `REDIS_URL`, or Redis refusing the password.
pub async fn connect(
    state: Arc<AppState>,
    queue: QueueArgs,
    registry: RegistryConfig,
    retry: Duration,
) -> anyhow::Result<()> {
    let client = queue.redis.client()?;
    let attempt = AsyncConnectionConfig::new().set_connection_timeout(Some(ATTEMPT_DEADLINE));
    loop {
        match client
            .get_multiplexed_async_connection_with_config(&attempt)
            .await
        {
            Ok(_) => break,
            Err(error) if is_auth_error(&error) => {
                anyhow::bail!("Redis at {} refused us: {error}", queue.redis.display_url())
            }
            Err(error) => {
                tracing::warn!(%error, "cannot reach Redis; retrying");
                *lock(&state.last_error) = Some(error.to_string());
                tokio::time::sleep(retry).await;
            }
        }
    }
    // It answers: open the queue (which waits for it again if it has just gone away).
    let (opened, _) = queue.open().await?;
    let registry = Registry::new(opened.connection(), opened.keys(), registry);
    let _ = state.connected.set(Connected {
        queue: opened,
        registry,
    });
    Ok(())
}
// ANCHOR_END: connect

/// Runs a request's Redis work, all of it, within `deadline`; a miss is a 503.
pub async fn within<T>(
    deadline: Duration,
    work: impl Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    tokio::time::timeout(deadline, work)
        .await
        .unwrap_or_else(|_| {
            Err(ApiError::Unavailable(format!(
                "Redis did not answer within {} s",
                deadline.as_secs_f64()
            )))
        })
}
