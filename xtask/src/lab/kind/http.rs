//! The status API as the lab reads it: the plan's `curl URL` commands sent with an HTTP
//! client, again until the answer is the one expected (a route the Ingress has not synced
//! yet, a port-forward not listening yet), and the `kubectl port-forward` they go through.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use super::plan::{self, KindCommand};
use super::shell;
use crate::lab::poll;
pub use crate::lab::poll::Answer;

/// Between two looks at something the lab waits for.
const POLL: Duration = Duration::from_millis(500);
/// How long a started port-forward may take to listen.
const FORWARD_TIME: Duration = Duration::from_secs(30);

/// The lab's HTTP client.
pub struct Http {
    agent: ureq::Agent,
}

impl Http {
    /// A client whose requests end after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        // The servers are on this machine: no proxy from the environment stands in between.
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .proxy(None)
            .build()
            .into();
        Self { agent }
    }

    /// One `curl URL` of the plan, sent: its status and body.
    pub fn fetch(&self, command: KindCommand) -> Result<(u16, String)> {
        ensure!(
            plan::contains(command),
            "`{command}` is not in the lab's plan"
        );
        let ["curl", url] = command.words()[..] else {
            bail!("`{command}` is no `curl URL`");
        };
        let mut response = self
            .agent
            .get(url)
            .call()
            .with_context(|| format!("GET {url}"))?;
        let body = response
            .body_mut()
            .read_to_string()
            .with_context(|| format!("GET {url}: the body"))?;
        Ok((response.status().as_u16(), body))
    }

    /// Sends `command`'s GET until `judge` says done or `timeout` passes; prints the answer
    /// that was.
    pub fn poll<T>(
        &self,
        command: KindCommand,
        timeout: Duration,
        judge: impl FnMut(u16, &str) -> Result<Answer<T>>,
    ) -> Result<T> {
        eprintln!("$ {command}");
        let (found, body) = poll::until(&command, timeout, POLL, || self.fetch(command), judge)?;
        eprintln!("{}", body.trim_end());
        Ok(found)
    }
}

/// `kubectl port-forward` in the background, stopped when dropped.
pub struct PortForward(Child);

impl PortForward {
    /// Starts it and waits until it listens on `port`.
    pub fn start(mut command: Command, port: u16) -> Result<Self> {
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        // Taken, the forward would fail and another server would answer the lab's GETs.
        drop(
            TcpListener::bind(address).with_context(|| {
                format!("port {port} is taken: the lab's port-forward needs it")
            })?,
        );
        eprintln!("$ {} (in the background)", shell::line(&command));
        // Its stdout notes every connection; its errors go to stderr, shown.
        command.stdin(Stdio::null()).stdout(Stdio::null());
        let child = command
            .spawn()
            .context("cannot start kubectl port-forward")?;
        let mut forward = Self(child);
        let started = Instant::now();
        loop {
            if let Some(status) = forward.0.try_wait()? {
                bail!("kubectl port-forward exited ({status})");
            }
            if TcpStream::connect_timeout(&address, POLL).is_ok() {
                return Ok(forward);
            }
            ensure!(
                started.elapsed() < FORWARD_TIME,
                "kubectl port-forward did not listen on {address} within {}s",
                FORWARD_TIME.as_secs()
            );
            thread::sleep(POLL);
        }
    }
}

impl Drop for PortForward {
    fn drop(&mut self) {
        // It may have exited already; either way it is gone afterwards.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_plans_gets_are_sent() {
        let http = Http::new(Duration::from_secs(1));
        let foreign = KindCommand {
            line: "curl http://127.0.0.1:9/anything",
        };
        let error = http.fetch(foreign).unwrap_err().to_string();
        assert!(error.contains("not in the lab's plan"), "{error}");
        let error = http.fetch(plan::PODS).unwrap_err().to_string();
        assert!(error.contains("no `curl URL`"), "{error}");
    }
}
