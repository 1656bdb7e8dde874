//! [`RedisServer`]: a real `redis-server` of our own, for the demo, the benchmark and every
//! test from this session on.
//!
//! Each server gets a free port and a temporary folder (its log, its AOF files, a Unix
//! socket), starts in the foreground as our child process, and is ready when it answers
//! `PING`. It stops when dropped, and the folder goes with it. [`RedisServer::restart`]
//! stops it and starts it again on the same port and folder, which with AOF on is how the
//! tests prove that a restart loses nothing.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// How to start a server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerOptions {
    /// Append-only file on, fsynced every second (`appendfsync everysec`).
    pub aof: bool,
    /// The port; a free one when `None`.
    pub port: Option<u16>,
    /// A password for the default user (`requirepass`).
    pub password: Option<String>,
}

/// A `redis-server` child process with its own folder.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    options: ServerOptions,
    dir: tempfile::TempDir,
}

/// The `redis-server` program: `$REDIS_SERVER`, or the one on the `PATH`.
fn program() -> PathBuf {
    std::env::var_os("REDIS_SERVER").map_or_else(|| "redis-server".into(), PathBuf::from)
}

/// A port nobody listens on now.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}

impl RedisServer {
    /// Starts a server without persistence on a free port.
    pub fn start() -> Result<Self> {
        Self::start_with(ServerOptions::default())
    }

    /// Starts a server without persistence on a free port, from async code: the wait for
    /// it to answer runs on a blocking thread, never on the runtime's workers.
    pub async fn start_async() -> Result<Self> {
        tokio::task::spawn_blocking(Self::start)
            .await
            .context("the thread starting redis-server panicked")?
    }

    /// Starts a server as `options` say. It blocks until the server answers (usually a few
    /// milliseconds, at most 10 s): async code calls [`start_async`](Self::start_async).
    pub fn start_with(options: ServerOptions) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("redis-")
            .tempdir()
            .context("cannot create a folder for redis-server")?;
        // Another process may take a free port between our check and Redis's bind: retry.
        let mut tries = 0;
        loop {
            let port = match options.port {
                Some(port) => port,
                None => free_port()?,
            };
            match launch(port, &options, dir.path()) {
                Ok(child) => {
                    return Ok(Self {
                        child: Some(child),
                        port,
                        options,
                        dir,
                    });
                }
                Err(error) if options.port.is_some() || tries == 4 => return Err(error),
                Err(_) => tries += 1,
            }
        }
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT` (without the password).
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The URL with the password in it, when the server has one.
    pub fn url_with_password(&self) -> String {
        match &self.options.password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{}", self.port),
            None => self.url(),
        }
    }

    /// The Unix socket the server also listens on.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("redis.sock")
    }

    /// The server's folder (its log and AOF files).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Stops the server the way an operator would (`SHUTDOWN`: the AOF is flushed), and
    /// waits for it to exit.
    pub fn stop(&mut self) -> Result<()> {
        if let Ok(client) = redis::Client::open(self.url_with_password())
            && let Ok(mut conn) = client.get_connection_with_timeout(Duration::from_secs(1))
        {
            // The server closes the connection instead of answering.
            let _ = redis::cmd("SHUTDOWN").query::<()>(&mut conn);
        }
        if let Some(mut child) = self.child.take() {
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait()?.is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.wait();
        }
        Ok(())
    }

    /// Kills the server at once (SIGKILL): what a crash looks like.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and folder (after [`stop`](Self::stop)
    /// or [`kill`](Self::kill)); with AOF on, it reloads what it had.
    pub fn restart(&mut self) -> Result<()> {
        self.stop()?;
        self.child = Some(launch(self.port, &self.options, self.dir.path())?);
        Ok(())
    }
}

/// The Redis a demo runs on: the one at `url` when given, or a redis-server of its own
/// (stopped when the returned server is dropped). Returns the server, if started, and the
/// URL to use.
pub async fn own_unless_given(url: Option<&str>) -> Result<(Option<RedisServer>, String)> {
    match url {
        Some(url) => Ok((None, url.to_owned())),
        None => {
            let server = RedisServer::start_async().await?;
            println!("started redis-server on port {}", server.port());
            let url = server.url();
            Ok((Some(server), url))
        }
    }
}

/// Asks `child` to stop, as `docker stop` and Kubernetes do: SIGTERM on Unix. Elsewhere,
/// where there is no such signal, it is killed.
pub fn terminate(child: &mut Child) -> Result<()> {
    #[cfg(unix)]
    {
        let pid = i32::try_from(child.id()).context("a process id out of range")?;
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        )
        .with_context(|| format!("cannot send SIGTERM to process {pid}"))
    }
    #[cfg(not(unix))]
    {
        child.kill().context("cannot stop the process")
    }
}

/// Child processes (workers, say) killed and reaped when this is dropped, however the
/// code that started them ends.
#[derive(Debug, Default)]
pub struct Children(pub Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `redis-server` on `port` in `dir` and waits until it answers PING; on failure,
/// kills it and says why, with the end of its log.
fn launch(port: u16, options: &ServerOptions, dir: &Path) -> Result<Child> {
    let mut command = Command::new(program());
    command
        .arg("--port")
        .arg(port.to_string())
        .args(["--bind", "127.0.0.1", "--daemonize", "no", "--save", ""])
        .arg("--dir")
        .arg(dir)
        .arg("--logfile")
        .arg(dir.join("redis.log"))
        .arg("--unixsocket")
        .arg(dir.join("redis.sock"))
        .args(["--unixsocketperm", "700"])
        .args(["--appendonly", if options.aof { "yes" } else { "no" }])
        .args(["--appendfsync", "everysec"]);
    if let Some(password) = &options.password {
        command.arg("--requirepass").arg(password);
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| {
            format!(
                "cannot run {}: is redis-server installed? (`cargo xtask setup` installs it)",
                program().display()
            )
        })?;
    let log_tail = || {
        let log = std::fs::read_to_string(dir.join("redis.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().rev().take(5).collect();
        lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
    };
    let url = match &options.password {
        Some(password) => format!("redis://:{password}@127.0.0.1:{port}"),
        None => format!("redis://127.0.0.1:{port}"),
    };
    let client = redis::Client::open(url)?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait()? {
            bail!(
                "redis-server exited ({status}) on port {port}: {}",
                log_tail()
            );
        }
        let pong = client
            .get_connection_with_timeout(Duration::from_millis(200))
            .and_then(|mut conn| redis::cmd("PING").query::<String>(&mut conn));
        if pong.is_ok() {
            return Ok(child);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "redis-server on port {port} did not answer PING: {}",
                log_tail()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
