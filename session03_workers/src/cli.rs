//! What the workers' binaries share at their edges: durations from flags, result keys that
//! do not collide, and the signals that start a graceful shutdown.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::blob::BlobKey;
use crate::queue::{Backoff, MAX_LEASE};

/// A duration from a flag in seconds, refusing zero, negative, non-finite and values over a
/// day.
pub fn seconds(flag: &str, value: f64) -> Result<Duration> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero() && *d <= MAX_LEASE)
        .with_context(|| {
            format!(
                "--{flag} must be a positive number of seconds up to {}, got {value}",
                MAX_LEASE.as_secs()
            )
        })
}

/// The retry backoff from `--retry-backoff` and `--retry-backoff-max`, in seconds: a base
/// of 0 retries at once, a cap of 0 is no cap.
pub fn retry_backoff(base: f64, max: f64) -> Result<Backoff> {
    let optional = |flag: &str, value: f64| {
        if value == 0.0 {
            Ok(None)
        } else {
            seconds(flag, value).map(Some)
        }
    };
    Ok(Backoff {
        base: optional("retry-backoff", base)?.unwrap_or_default(),
        max: optional("retry-backoff-max", max)?.unwrap_or(Duration::MAX),
    })
}

/// A key `prefix/stem.extension` that no earlier call returned: `stem`, then `stem-2` ...
pub fn unique_key(
    prefix: &str,
    stem: &str,
    extension: &str,
    used: &mut HashSet<String>,
) -> Result<BlobKey> {
    let mut candidate = format!("{stem}.{extension}");
    let mut n = 1;
    while !used.insert(candidate.clone()) {
        n += 1;
        candidate = format!("{stem}-{n}.{extension}");
    }
    Ok(BlobKey::for_file(prefix, &candidate)?)
}

/// Resolves on Ctrl-C or SIGTERM (what `docker stop` and Kubernetes send). The handlers
/// are installed before this returns, so a signal at any later moment shuts down gracefully
/// instead of killing the process.
pub fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for Ctrl-C")?;
        let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                let _ = tx.send(());
            }
        });
        Ok(async move {
            let _ = rx.await;
        })
    }
}
