//! Exercise 6.1: configuration from the environment.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use super::{ConfigError, WorkerConfig};

// ANCHOR: config
/// Exercise 6.1: reads a worker's settings from its environment.
///
/// A container is configured through its environment (compose's `environment:`,
/// Kubernetes' `env:`), the twelve-factor way. `lookup(name)` gives a variable's value, or
/// `None` when it is unset: `config_from_env(&|name| std::env::var(name).ok())` reads the
/// process's environment, and the tests pass a map instead.
///
/// A variable set to an empty or blank value counts as unset: compose passes
/// `WORKER_CONCURRENCY: ${CONCURRENCY}` as an empty string when `CONCURRENCY` is not set
/// where compose runs. Values are trimmed of spaces around them before use, except
/// `REDIS_PASSWORD`, taken exactly as set.
///
/// - `REDIS_URL` (required): `redis_url`, a URL that `redis::Client::open` accepts. There
///   is no default: in a container, `127.0.0.1` is the container itself.
/// - `REDIS_PASSWORD`: `redis_password`, exactly as set. Or `REDIS_PASSWORD_FILE`: the path
///   of a file (a Docker or Kubernetes secret) that holds the password, which is its
///   contents without the line ends (`\n`, `\r`) at their end. Neither set: `None`.
/// - `WORKER_CONCURRENCY`: `concurrency`, a whole number, at least 1. Unset: `None`.
/// - `WORKER_CAPABILITIES`: `capabilities`, as session 03's `Capabilities::from_str` reads
///   it. Unset: `Capabilities::All`.
/// - `SHUTDOWN_GRACE`: `shutdown_grace`, in seconds: a number (`30`, `2.5`, `0`) that makes
///   a `Duration` (`Duration::try_from_secs_f64`), so not `30s`, not negative, not `inf`.
///   Unset: [`DEFAULT_SHUTDOWN_GRACE`](super::DEFAULT_SHUTDOWN_GRACE).
// ANCHOR_END: config
// ANCHOR: config_errors
///
/// Everything else is an error, never a silent default: `REDIS_URL` unset or refused, a
/// value that is not what the list says, both `REDIS_PASSWORD` and
/// `REDIS_PASSWORD_FILE` set (an error on `REDIS_PASSWORD_FILE`), and a password file
/// that cannot be read, holds more than [`MAX_SECRET_BYTES`](super::MAX_SECRET_BYTES)
/// bytes (read no further: it could be `/dev/zero`) or is empty once its line ends are
/// removed.
///
/// Each error is a [`ConfigError`] that names the variable and its value as set (empty
/// when unset or blank), and says what is wrong. A password is never shown: the errors
/// about it are on `REDIS_PASSWORD_FILE`, whose value is a path, and a refused
/// `REDIS_URL`'s value is the URL as session 04's `session04_redis::connect::redact` shows
/// it, its password as `***`. Returns every error, in the order of the list above, not
/// only the first: a container that will not start says all that is wrong with it at once.
pub fn config_from_env(
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<WorkerConfig, Vec<ConfigError>> {
    todo!("exercise 6.1: config_from_env")
}
// ANCHOR_END: config_errors
