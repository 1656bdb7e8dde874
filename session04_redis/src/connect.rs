//! Connecting to Redis: where it is, who we are, and what happens when it goes away.
//!
//! One [`ConnectionManager`] per process is enough: it multiplexes every worker's commands
//! over one socket (pipelining them for free) and reconnects with exponential backoff when
//! Redis restarts. Two of its defaults do not suit a queue:
//!
//! - Responses time out after **500 ms**, and a blocking `XREADGROUP ... BLOCK 2000` waits
//!   longer than that by design. [`RedisOptions::response_timeout`] is raised above the
//!   longest block the queue asks for ([`MAX_BLOCK`]), so a dead server is still noticed.
//! - Creating a manager fails at once when Redis is not there yet. A worker started before
//!   Redis (compose, Kubernetes) should wait instead: [`connect`] retries, saying so in the
//!   log, until Redis answers.

use std::fmt;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncConnectionConfig, Client, IntoConnectionInfo};
use session03_workers::{Backoff, Retry};
use tracing::{info, warn};

/// The longest a blocking read waits inside Redis; the response timeout is above it.
pub const MAX_BLOCK: Duration = Duration::from_secs(5);

/// Where Redis is and how to log in.
#[derive(Clone, PartialEq, Eq, clap::Args)]
pub struct RedisOptions {
    /// Redis to use: `redis://[user:password@]host:port[/db]` or `unix:///path/to/redis.sock`.
    #[arg(
        long = "redis-url",
        env = "REDIS_URL",
        default_value = "redis://127.0.0.1:6379"
    )]
    pub url: String,
    /// The ACL user, when not in the URL.
    #[arg(long = "redis-username", env = "REDIS_USERNAME")]
    pub username: Option<String>,
    /// The password, when not in the URL (prefer the environment to a flag: flags show in `ps`).
    #[arg(
        long = "redis-password",
        env = "REDIS_PASSWORD",
        hide_env_values = true
    )]
    pub password: Option<String>,
    /// Seconds a command may wait for its answer (at least twice the longest blocking read).
    #[arg(
        long = "redis-timeout",
        value_name = "SECONDS",
        env = "REDIS_TIMEOUT",
        default_value = "10",
        value_parser = parse_seconds
    )]
    pub response_timeout: Duration,
}

impl fmt::Debug for RedisOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisOptions")
            .field("url", &redact(&self.url))
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("response_timeout", &self.response_timeout)
            .finish()
    }
}

impl RedisOptions {
    /// Options for `url`, with the defaults for the rest.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            username: None,
            password: None,
            response_timeout: Duration::from_secs(10),
        }
    }

    /// The client these options describe; the URL's own user and password are kept unless
    /// the options name others.
    pub fn client(&self) -> Result<Client, redis::RedisError> {
        let mut info = self.url.as_str().into_connection_info()?;
        let mut settings = info.redis_settings().clone();
        if let Some(username) = &self.username {
            settings = settings.set_username(username);
        }
        if let Some(password) = &self.password {
            settings = settings.set_password(password);
        }
        info = info.set_redis_settings(settings);
        Client::open(info)
    }

    /// The URL with any password hidden, for logs.
    pub fn display_url(&self) -> String {
        redact(&self.url)
    }
}

/// A URL with its password replaced by `***`. A URL that does not parse is not shown at
/// all: where its password ends cannot be told.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                // Only URLs that cannot carry a password refuse one.
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(error) => format!("(a URL that does not parse: {error})"),
    }
}

/// A flag's value in seconds as a [`Duration`], by session 03's rule.
pub fn parse_seconds(text: &str) -> Result<Duration, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    session03_workers::cli::seconds("redis-timeout", value).map_err(|error| error.to_string())
}

/// The connection settings the queue needs: a response timeout above [`MAX_BLOCK`], and
/// reconnection with exponential backoff capped at two seconds.
pub fn manager_config(options: &RedisOptions) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_response_timeout(Some(options.response_timeout.max(MAX_BLOCK * 2)))
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_secs(2))
        .set_number_of_retries(6)
}

// ANCHOR: connect
/// Connects to Redis, waiting for it as long as it takes: each failure is logged with the
/// next delay, which doubles up to about five seconds (session 03's [`Retry`]). Fails at once only on a malformed URL.
pub async fn connect(options: &RedisOptions) -> anyhow::Result<ConnectionManager> {
    let client = options
        .client()
        .map_err(|error| anyhow::anyhow!("invalid REDIS_URL {}: {error}", options.display_url()))?;
    if !client.get_connection_info().addr().is_supported() {
        anyhow::bail!(
            "{} uses a connection type this build does not support",
            options.display_url()
        );
    }
    let mut retry = Retry::new(Backoff {
        base: Duration::from_millis(100),
        max: Duration::from_secs(5),
    });
    // One quick attempt per round: the manager itself would retry six times before failing.
    let probe = AsyncConnectionConfig::new().set_connection_timeout(Some(Duration::from_secs(2)));
    loop {
        let attempt = match client
            .get_multiplexed_async_connection_with_config(&probe)
            .await
        {
            Ok(_) => {
                ConnectionManager::new_with_config(client.clone(), manager_config(options)).await
            }
            Err(error) => Err(error),
        };
        // ANCHOR: connect_errors
        match attempt {
            Ok(manager) => {
                info!(redis = %options.display_url(), "connected to Redis");
                return Ok(manager);
            }
            Err(error) if is_auth_error(&error) => {
                anyhow::bail!("Redis at {} refused us: {error}", options.display_url())
            }
            Err(error) => {
                let wait = retry.failed();
                warn!(
                    redis = %options.display_url(),
                    %error,
                    retry_in = ?wait,
                    "Redis is unreachable; retrying"
                );
                tokio::time::sleep(wait).await;
            }
        }
        // ANCHOR_END: connect_errors
    }
}
// ANCHOR_END: connect

/// Whether an error is about credentials, which waiting will not fix.
pub fn is_auth_error(error: &redis::RedisError) -> bool {
    let text = error.to_string();
    error.kind() == redis::ErrorKind::AuthenticationFailed
        || [
            "WRONGPASS",
            "NOAUTH",
            "NOPERM",
            "authentication",
            "password",
        ]
        .iter()
        .any(|needle| text.contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_logs() {
        assert_eq!(
            redact("redis://worker:s3cret@redis:6379/2"),
            "redis://worker:***@redis:6379/2"
        );
        assert_eq!(redact("redis://:s3cret@redis"), "redis://:***@redis");
        assert_eq!(redact("redis://redis:6379"), "redis://redis:6379");
        assert_eq!(redact("unix:///run/redis.sock"), "unix:///run/redis.sock");
        // A `/` in a password ends the authority for a naive split: nothing of it leaks.
        let slashed = redact("redis://worker:s3/cr3t@redis:6379");
        assert!(
            !slashed.contains("s3") && !slashed.contains("cr3t"),
            "{slashed}"
        );
        let encoded = redact("redis://worker:s3%2Fcr3t@redis:6379");
        assert_eq!(encoded, "redis://worker:***@redis:6379");
        let mut options = RedisOptions::new("redis://u:p4ss@h");
        options.password = Some("other".into());
        let shown = format!("{options:?}");
        assert!(
            !shown.contains("p4ss") && !shown.contains("other"),
            "{shown}"
        );
    }

    #[test]
    fn credentials_from_options_override_the_url() {
        let mut options = RedisOptions::new("redis://a:b@127.0.0.1:6380/3");
        let info = options.client().unwrap().get_connection_info().clone();
        assert_eq!(info.redis_settings().username(), Some("a"));
        options.username = Some("worker".into());
        options.password = Some("w0rker".into());
        let info = options.client().unwrap().get_connection_info().clone();
        assert_eq!(info.redis_settings().username(), Some("worker"));
        assert_eq!(info.redis_settings().password(), Some("w0rker"));
        assert_eq!(info.redis_settings().db(), 3);
        assert!(RedisOptions::new("http://nope").client().is_err());
    }

    #[test]
    fn blocking_reads_fit_inside_the_response_timeout() {
        let mut options = RedisOptions::new("redis://127.0.0.1");
        options.response_timeout = Duration::from_millis(500);
        let timeout = manager_config(&options).response_timeout().unwrap();
        assert!(timeout > MAX_BLOCK, "{timeout:?}");
        assert!(parse_seconds("0").is_err() && parse_seconds("x").is_err());
        assert_eq!(parse_seconds("2.5"), Ok(Duration::from_millis(2500)));
    }
}
