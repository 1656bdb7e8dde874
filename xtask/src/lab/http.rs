//! The compose lab's HTTP client: its `curl URL` commands sent as GETs, once or until the
//! answer is the one expected.

use std::time::Duration;

use anyhow::{Context as _, Result, bail, ensure};

use super::compose::{LabCommand, POLL, is_listed};
use super::poll::{Answer, until};

/// One HTTP request.
const REQUEST_TIME: Duration = Duration::from_secs(10);

/// An answer in full.
pub struct Fetched {
    /// Its status code.
    pub status: u16,
    /// Its headers: names in lower case, values as text.
    pub headers: Vec<(String, String)>,
    /// Its body.
    pub body: String,
}

/// The labs' HTTP client: their `curl URL` commands sent as GETs.
pub struct Http {
    agent: ureq::Agent,
}

impl Http {
    pub fn new() -> Self {
        // The servers are on this machine: no proxy from the environment stands in between.
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(REQUEST_TIME))
            .http_status_as_error(false)
            .proxy(None)
            .build()
            .into();
        Self { agent }
    }

    /// A GET of `url` with `query` (encoded here): its status and body.
    pub fn get(&self, url: &str, query: &[(&str, &str)]) -> Result<(u16, String)> {
        let mut request = self.agent.get(url);
        for (name, value) in query {
            request = request.query(*name, *value);
        }
        let mut response = request.call().with_context(|| format!("GET {url}"))?;
        let body = response
            .body_mut()
            .read_to_string()
            .with_context(|| format!("GET {url}: the body"))?;
        Ok((response.status().as_u16(), body))
    }

    /// One `curl URL` of the lab, sent: the whole answer.
    pub fn fetch_whole(&self, command: LabCommand) -> Result<Fetched> {
        let (url, query) = split_url(command)?;
        eprintln!("$ {command}");
        let mut request = self.agent.get(url);
        for (name, value) in query {
            request = request.query(name, value);
        }
        let mut response = request.call().with_context(|| format!("GET {url}"))?;
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_owned(), value)
            })
            .collect();
        let body = response
            .body_mut()
            .read_to_string()
            .with_context(|| format!("GET {url}: the body"))?;
        Ok(Fetched {
            status: response.status().as_u16(),
            headers,
            body,
        })
    }

    /// One `curl URL` of the lab, sent.
    pub fn fetch(&self, command: LabCommand) -> Result<(u16, String)> {
        let (base, query) = split_url(command)?;
        self.get(base, &query)
    }

    /// Sends `command`'s GET until `judge` says done or `timeout` passes.
    pub fn poll<T>(
        &self,
        command: LabCommand,
        timeout: Duration,
        judge: impl FnMut(u16, &str) -> Result<Answer<T>>,
    ) -> Result<T> {
        eprintln!("$ {command}");
        until(&command, timeout, POLL, || self.fetch(command), judge).map(|(found, _)| found)
    }
}

/// A `curl URL` command's URL without its query, and the query's pairs.
pub fn split_url(command: LabCommand) -> Result<(&'static str, Vec<(&'static str, &'static str)>)> {
    ensure!(
        is_listed(command),
        "`{command}` is not in the lab's list of commands"
    );
    let ["curl", url] = command.words else {
        bail!("`{command}` is no `curl URL`");
    };
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url, Vec::new()));
    };
    let pairs = query
        .split('&')
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .collect();
    Ok((base, pairs))
}
