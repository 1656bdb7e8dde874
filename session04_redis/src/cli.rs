//! What the session's commands share: the queue's and the blob store's flags (each with an
//! environment variable, the way containers are configured), opening both, running a
//! command on a runtime with logs, and redrawing a view until Ctrl-C (`--watch`).

use std::future::Future;
use std::io::{ErrorKind, IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use clap::{Args, FromArgMatches};
use session03_workers::QueueConfig;
use session03_workers::cli::{RetryArgs, seconds, shutdown_signal};

/// Runs a command on a tokio runtime with logs, as session 03's commands do.
pub use session03_workers::cli::run;

use crate::blob::{DEFAULT_MAX_BLOB_BYTES, RedisBlobStore};
use crate::connect::RedisOptions;
use crate::queue::{RedisQueue, RedisQueueConfig, WorkerName};

/// Where the queue is and how it behaves.
// ANCHOR: queue_args
#[derive(Debug, Clone, clap::Args)]
pub struct QueueArgs {
    /// Where Redis is.
    #[command(flatten)]
    pub redis: RedisOptions,
    /// The prefix of the queue's keys in Redis.
    #[arg(
        long,
        value_name = "NAME",
        env = "QUEUE_NAMESPACE",
        default_value = "imgq"
    )]
    pub namespace: String,
    // ANCHOR: lease_flag
    /// Seconds a task stays with its worker without a renewal.
    #[arg(long, value_name = "SECONDS", env = "LEASE", default_value_t = 30.0)]
    pub lease: f64,
    // ANCHOR_END: lease_flag
    /// Attempts before worker failures make a task dead.
    #[arg(long, value_name = "N", env = "MAX_ATTEMPTS", default_value_t = 3)]
    pub max_attempts: u32,
    /// The most tasks that may wait; 0 for no bound.
    #[arg(
        long,
        value_name = "N",
        env = "QUEUE_CAPACITY",
        default_value_t = 100_000
    )]
    pub capacity: usize,
    /// Seconds finished tasks' records (and results) are kept.
    #[arg(
        long,
        value_name = "SECONDS",
        env = "RETENTION",
        default_value_t = 86_400.0
    )]
    pub retention: f64,
    /// The most bytes one image or result may have.
    #[arg(long, value_name = "BYTES", env = "MAX_BLOB_BYTES", default_value_t = DEFAULT_MAX_BLOB_BYTES)]
    pub max_blob_bytes: u64,
    /// How long a retry waits.
    #[command(flatten)]
    pub retry: RetryArgs,
}
// ANCHOR_END: queue_args

impl QueueArgs {
    /// Flags for a queue at `url`, with every other flag at the default its `#[arg]`
    /// declares: parsed by clap from no other flag, and from no environment variable.
    pub fn for_url(url: &str) -> Self {
        let command =
            Self::augment_args(clap::Command::new("queue")).mut_args(|arg| arg.env(None::<&str>));
        let matches = command
            .try_get_matches_from(["queue".to_owned(), format!("--redis-url={url}")])
            .expect("every queue flag has a default, and any text is a URL to try");
        Self::from_arg_matches(&matches).expect("the matches come from these flags")
    }

    /// The queue's settings, checked.
    pub fn config(&self) -> Result<RedisQueueConfig> {
        anyhow::ensure!(self.max_attempts > 0, "--max-attempts must be at least 1");
        // A `:` would make one namespace a prefix of another's keys (`imgq` of `imgq:x`).
        anyhow::ensure!(
            !self.namespace.is_empty()
                && self
                    .namespace
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
            "--namespace (QUEUE_NAMESPACE) takes letters, digits, `-`, `_` and `.`, got {:?}",
            self.namespace
        );
        Ok(RedisQueueConfig {
            queue: QueueConfig {
                lease: seconds("lease", self.lease)?,
                max_attempts: self.max_attempts,
                capacity: (self.capacity > 0).then_some(self.capacity),
                retry_backoff: self.retry.backoff()?,
            },
            namespace: self.namespace.clone(),
            retention: seconds("retention", self.retention)?,
            ..RedisQueueConfig::default()
        })
    }

    /// Connects (waiting for Redis) and opens the queue and the blob store on one
    /// connection; blobs live as long as task records.
    pub async fn open(&self) -> Result<(RedisQueue, Arc<RedisBlobStore>)> {
        self.open_as(None).await
    }

    /// [`open`](Self::open), the queue's consumer named after `name` when given (a worker's
    /// `--worker-id`).
    pub async fn open_as(
        &self,
        name: Option<&WorkerName>,
    ) -> Result<(RedisQueue, Arc<RedisBlobStore>)> {
        let config = self.config()?;
        let retention = config.retention;
        let queue = RedisQueue::connect_as(&self.redis, config, name).await?;
        let blobs = RedisBlobStore::new(
            queue.connection(),
            &self.namespace,
            retention,
            self.max_blob_bytes,
        );
        Ok((queue, Arc::new(blobs)))
    }
}

/// How long to wait before giving up on a task, from `--timeout` (0 for ever).
pub fn optional_seconds(flag: &str, value: f64) -> Result<Option<Duration>> {
    if value == 0.0 {
        return Ok(None);
    }
    seconds(flag, value).map(Some)
}

/// Redrawing a view for people until Ctrl-C: the flags of every command that has one.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct WatchArgs {
    /// Redraw every --interval seconds until Ctrl-C (not with --json).
    #[arg(long)]
    pub watch: bool,
    /// Seconds between two redraws with --watch.
    #[arg(
        id = "watch_interval",
        long = "interval",
        value_name = "SECONDS",
        default_value_t = 2.0,
        requires = "watch"
    )]
    pub interval: f64,
    /// With --watch: stop after this many redraws (for scripts and tests) [default: until
    /// Ctrl-C].
    #[arg(
        id = "watch_iterations",
        long = "iterations",
        value_name = "N",
        requires = "watch",
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub iterations: Option<u64>,
}

impl WatchArgs {
    /// The time between two redraws when `--watch` is given (`None` without it), checked;
    /// `json` says whether the command was asked for JSON, which a redrawn screen is not.
    pub fn every(&self, json: bool) -> Result<Option<Duration>> {
        if !self.watch {
            return Ok(None);
        }
        anyhow::ensure!(
            !json,
            "--watch redraws a view for people; --json is for programs: use one or the other"
        );
        seconds("interval", self.interval).map(Some)
    }
}

/// Clears a terminal and moves the cursor home (ANSI escape codes).
const CLEAR: &str = "\x1b[2J\x1b[H";

// ANCHOR: watch
/// Prints what `render` returns, again every `every`, until Ctrl-C or SIGTERM (or after
/// `iterations` frames). On a terminal each frame replaces the last; elsewhere (a pipe, a
/// log) frames follow one another. A frame that fails shows its error and the watch goes
/// on; when the last frame failed, so does the command.
pub async fn watch<F, Fut>(
    every: Duration,
    iterations: Option<u64>,
    mut render: F,
) -> Result<String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<String>>,
{
    let stop = shutdown_signal()?;
    tokio::pin!(stop);
    let terminal = std::io::stdout().is_terminal();
    let mut frames = 0;
    let mut failure = None;
    loop {
        let frame = tokio::select! {
            frame = render() => frame,
            () = &mut stop => break,
        };
        let text = match frame {
            Ok(text) => {
                failure = None;
                text
            }
            Err(error) => {
                let text = format!("error: {error:#}\n");
                failure = Some(error);
                text
            }
        };
        let now = chrono::Utc::now().format("%H:%M:%S UTC");
        let screen = format!(
            "{}{text}{now}: redrawn every {} s; Ctrl-C to stop\n",
            if terminal {
                CLEAR
            } else if frames > 0 {
                "\n"
            } else {
                ""
            },
            every.as_secs_f64()
        );
        let written = {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(screen.as_bytes())
                .and_then(|()| stdout.flush())
        };
        match written {
            // The reader went away (`| head`): nobody watches any more.
            Err(error) if error.kind() == ErrorKind::BrokenPipe => break,
            written => written?,
        }
        frames += 1;
        if iterations.is_some_and(|n| frames >= n) {
            break;
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = &mut stop => break,
        }
    }
    failure.map_or_else(|| Ok(String::new()), Err)
}
// ANCHOR_END: watch

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_for_a_url_are_the_declared_defaults() {
        let args = QueueArgs::for_url("redis://example:6380/2");
        assert_eq!(args.redis.url, "redis://example:6380/2");
        let config = args.config().unwrap();
        assert_eq!(
            config,
            RedisQueueConfig {
                queue: QueueConfig {
                    capacity: Some(100_000),
                    ..QueueConfig::default()
                },
                ..RedisQueueConfig::default()
            }
        );
        assert_eq!(args.max_blob_bytes, DEFAULT_MAX_BLOB_BYTES);
        assert_eq!(QueueArgs::for_url("-odd").redis.url, "-odd");
    }
}
