//! `mdbook serve book`, as an instructor runs it: served once and its first page fetched.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Serves the book as an instructor would and fetches its first page once.
pub(super) fn serve_once(root: &Path, mdbook: &Path) -> Result<()> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let child = Command::new(mdbook)
        .args(["serve", "book", "--hostname", "127.0.0.1", "--port"])
        .arg(port.to_string())
        .current_dir(root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start mdbook serve")?;
    let mut server = KillOnDrop(child);
    // The server is local: no proxy from the environment stands in between.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .into();
    let url = format!("http://127.0.0.1:{port}/");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = server.0.try_wait()? {
            bail!("mdbook serve exited ({status})");
        }
        // Until it listens, the request fails and is tried again.
        let answer = agent.get(&url).call().and_then(|mut response| {
            Ok((response.status(), response.body_mut().read_to_string()?))
        });
        if let Ok((status, page)) = answer {
            if status == 200 && page.contains("<title>") {
                return Ok(());
            }
            bail!("mdbook serve answered: {status}");
        }
        if Instant::now() > deadline {
            bail!("mdbook serve did not answer within 60 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A child process that is killed when dropped.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // It may have exited already; either way it is gone afterwards.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
