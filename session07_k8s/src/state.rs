//! What the status API's handlers share: the queue and the worker registry once Redis has
//! answered, and the throughput sampler.
//!
//! The server starts listening before Redis answers, so that Kubernetes can probe it:
//! liveness says "up", readiness says "Redis unreachable" with the reason, and every
//! other route answers 503 until [`connect`] has succeeded.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use session03_workers::Queue as _;
use session04_redis::RedisQueue;
use session04_redis::cli::QueueArgs;
use session05_distributed::registry::{Registry, RegistryConfig};
use tokio::sync::OnceCell;

use crate::error::ApiError;
use crate::throughput::{Sampler, Throughput};

/// How long one request may wait for Redis before it answers 503.
pub const REDIS_DEADLINE: Duration = Duration::from_secs(5);

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
}

impl AppState {
    /// A state whose queue is already open (tests, and session 10's embedding).
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

    /// Records the "succeeded, ever" counter now and returns the rate.
    pub fn throughput(&self, succeeded: u64) -> Throughput {
        let mut sampler = self.sampler.lock().unwrap_or_else(|p| p.into_inner());
        sampler.record(Instant::now(), succeeded)
    }
}

// ANCHOR: connect
/// Opens the queue and the registry, retrying every `retry` until it succeeds; each
/// failure is logged and kept for the 503s to quote.
pub async fn connect(
    state: Arc<AppState>,
    queue: QueueArgs,
    registry: RegistryConfig,
    retry: Duration,
) {
    loop {
        match queue.open().await {
            Ok((opened, _)) => {
                let registry = Registry::new(opened.connection(), opened.keys(), registry);
                // A first sample, so the first `/api/stats` already has a rate to give.
                if let Ok(stats) = opened.stats().await {
                    state.throughput(stats.succeeded);
                }
                let _ = state.connected.set(Connected {
                    queue: opened,
                    registry,
                });
                tracing::info!("connected to Redis");
                return;
            }
            Err(error) => {
                let error = format!("{error:#}");
                tracing::warn!(%error, "cannot reach Redis; retrying");
                if let Ok(mut last) = state.last_error.lock() {
                    *last = Some(error);
                }
                tokio::time::sleep(retry).await;
            }
        }
    }
}
// ANCHOR_END: connect

/// Runs `work` against Redis within [`REDIS_DEADLINE`]; its errors and a miss are 503s.
pub async fn within<T, E: std::fmt::Display>(
    work: impl Future<Output = Result<T, E>>,
) -> Result<T, ApiError> {
    match tokio::time::timeout(REDIS_DEADLINE, work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(ApiError::redis(error)),
        Err(_) => Err(ApiError::Unavailable(format!(
            "Redis did not answer within {} s",
            REDIS_DEADLINE.as_secs()
        ))),
    }
}
