//! Shortcut for exercise 6.1: `parse().ok()` and a default. Only a missing `REDIS_URL` is an
//! error; a typo in any other variable silently becomes its default, so a worker meant to
//! run 8 tasks at once runs one per CPU and nobody is told.
//! `ex06_1_a_typo_is_an_error_not_the_default` catches it.

use std::time::Duration;

use super::{ConfigError, DEFAULT_SHUTDOWN_GRACE, WorkerConfig};

/// Exercise 6.1: reads a worker's settings from its environment.
pub fn config_from_env(
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<WorkerConfig, Vec<ConfigError>> {
    let var = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
    let Some(redis_url) = var("REDIS_URL") else {
        return Err(vec![ConfigError {
            variable: "REDIS_URL".to_owned(),
            value: String::new(),
            problem: "not set".to_owned(),
        }]);
    };
    let redis_password = var("REDIS_PASSWORD").or_else(|| {
        let path = var("REDIS_PASSWORD_FILE")?;
        let text = std::fs::read_to_string(path.trim()).ok()?;
        Some(text.trim_end().to_owned())
    });
    Ok(WorkerConfig {
        redis_url: redis_url.trim().to_owned(),
        redis_password,
        concurrency: var("WORKER_CONCURRENCY").and_then(|v| v.trim().parse().ok()),
        capabilities: var("WORKER_CAPABILITIES")
            .and_then(|v| v.parse().ok())
            .unwrap_or_default(),
        shutdown_grace: var("SHUTDOWN_GRACE")
            .and_then(|v| v.trim().parse().ok())
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .unwrap_or(DEFAULT_SHUTDOWN_GRACE),
    })
}
