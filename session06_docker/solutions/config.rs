//! Exercise 6.1: configuration from the environment.

use std::io::Read;
use std::time::Duration;

use session04_redis::connect::redact;

use super::{Capabilities, ConfigError, DEFAULT_SHUTDOWN_GRACE, MAX_SECRET_BYTES, WorkerConfig};

/// Exercise 6.1: reads a worker's settings from its environment.
pub fn config_from_env(
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<WorkerConfig, Vec<ConfigError>> {
    let var = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
    let mut errors = Vec::new();
    let mut fail = |variable: &str, value: &str, problem: String| {
        errors.push(ConfigError {
            variable: variable.to_owned(),
            value: value.to_owned(),
            problem,
        });
    };

    let redis_url = match var("REDIS_URL") {
        None => {
            let problem = "not set: name the Redis service, as in redis://redis:6379";
            fail("REDIS_URL", "", problem.to_owned());
            String::new()
        }
        Some(url) => {
            if let Err(error) = redis::Client::open(url.trim()) {
                fail("REDIS_URL", &redact(url.trim()), error.to_string());
            }
            url.trim().to_owned()
        }
    };
    let redis_password = match (var("REDIS_PASSWORD"), var("REDIS_PASSWORD_FILE")) {
        (Some(_), Some(path)) => {
            let problem = "REDIS_PASSWORD is set too: set one of them".to_owned();
            fail("REDIS_PASSWORD_FILE", &path, problem);
            None
        }
        (Some(password), None) => Some(password),
        (None, Some(path)) => read_secret(path.trim())
            .map_err(|problem| fail("REDIS_PASSWORD_FILE", &path, problem))
            .ok(),
        (None, None) => None,
    };
    let concurrency = var("WORKER_CONCURRENCY").and_then(|value| {
        let n = value.trim().parse().ok().filter(|n| *n >= 1);
        if n.is_none() {
            fail(
                "WORKER_CONCURRENCY",
                &value,
                "not a whole number of at least 1".into(),
            );
        }
        n
    });
    let capabilities = var("WORKER_CAPABILITIES").map_or(Capabilities::All, |value| {
        value.parse().unwrap_or_else(|problem| {
            fail("WORKER_CAPABILITIES", &value, problem);
            Capabilities::All
        })
    });
    let shutdown_grace = var("SHUTDOWN_GRACE").map_or(DEFAULT_SHUTDOWN_GRACE, |value| {
        let seconds = value.trim().parse().ok();
        seconds
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .unwrap_or_else(|| {
                let problem = "not a number of seconds of at least 0 (`30`, not `30s`)";
                fail("SHUTDOWN_GRACE", &value, problem.to_owned());
                DEFAULT_SHUTDOWN_GRACE
            })
    });

    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(WorkerConfig {
        redis_url,
        redis_password,
        concurrency,
        capabilities,
        shutdown_grace,
    })
}

/// The password in the file at `path`: at most [`MAX_SECRET_BYTES`], line ends cut off.
fn read_secret(path: &str) -> Result<String, String> {
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_SECRET_BYTES + 1).read_to_string(&mut text))
        .map_err(|error| format!("cannot read the password file: {error}"))?;
    if text.len() as u64 > MAX_SECRET_BYTES {
        return Err(format!("the file holds more than {MAX_SECRET_BYTES} bytes"));
    }
    let password = text.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        return Err("the password file is empty".to_owned());
    }
    Ok(password.to_owned())
}
