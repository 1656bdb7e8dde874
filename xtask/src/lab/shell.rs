//! Running the lab's commands: each one echoed, under a deadline, with its output either
//! shown as it comes (builds) or captured (what the lab reads back).

use std::ffi::OsString;
use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::deadline::{Watched, own_process_group};

/// Environment variables every command of the lab gets (where the engine is, the compose
/// project's name, the lab's settings).
pub type Env = Vec<(OsString, OsString)>;

/// What a captured command printed.
#[derive(Debug)]
pub struct Output {
    /// How it ended.
    pub status: ExitStatus,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

/// A command line as one echoes it.
pub fn line(command: &Command) -> String {
    let mut words = vec![command.get_program().to_string_lossy().into_owned()];
    words.extend(command.get_args().map(|a| a.to_string_lossy().into_owned()));
    words.join(" ")
}

/// Runs `command` with its output on the terminal; fails when it fails or outlives
/// `timeout` (then it is stopped).
pub fn stream(mut command: Command, timeout: Duration) -> Result<()> {
    let shown = line(&command);
    eprintln!("$ {shown}");
    command.stdin(Stdio::null());
    let mut child = Watched::spawn(command, own_process_group())
        .with_context(|| format!("cannot start `{shown}`"))?;
    match child.wait_or_stop(timeout)? {
        Some(status) if status.success() => Ok(()),
        Some(status) => bail!("`{shown}` failed ({status})"),
        None => bail!(
            "`{shown}` took longer than {}s and was stopped",
            timeout.as_secs()
        ),
    }
}

/// Runs `command` and keeps what it prints; stopped at `timeout`. A command that fails is
/// no error here: the caller reads its status.
pub fn capture(command: Command, timeout: Duration) -> Result<Output> {
    capture_from(command, Stdio::null(), timeout)
}

/// [`capture`], with `stdin` as the command's input.
fn capture_from(mut command: Command, stdin: Stdio, timeout: Duration) -> Result<Output> {
    let shown = line(&command);
    command
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = Watched::spawn(command, own_process_group())
        .with_context(|| format!("cannot start `{shown}`"))?;
    let readers = [
        child.stdout().map(|s| Box::new(s) as Box<dyn Read + Send>),
        child.stderr().map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .map(|pipe| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                // A read error only cuts the output short; the status tells the rest.
                let _ = pipe.read_to_end(&mut bytes);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
    });
    let status = child.wait_or_stop(timeout)?;
    if status.is_some() {
        // Anything it left running would hold the pipes open.
        child.stop_leftovers();
    }
    let [stdout, stderr] = readers.map(|reader| reader.join().unwrap_or_default());
    match status {
        Some(status) => Ok(Output {
            status,
            stdout,
            stderr,
        }),
        None => bail!(
            "`{shown}` took longer than {}s and was stopped; it printed:\n{stdout}{stderr}",
            timeout.as_secs()
        ),
    }
}

/// Runs `command`, echoed, and returns its standard output; fails with what it printed
/// when it fails.
pub fn output(command: Command, timeout: Duration) -> Result<String> {
    output_from(command, Stdio::null(), timeout)
}

/// [`output`], with `stdin` as the command's input (another's output, say).
pub fn output_from(command: Command, stdin: Stdio, timeout: Duration) -> Result<String> {
    let shown = line(&command);
    eprintln!("$ {shown}");
    let out = capture_from(command, stdin, timeout)?;
    if !out.status.success() {
        bail!(
            "`{shown}` failed ({}):\n{}{}",
            out.status,
            out.stdout,
            out.stderr
        );
    }
    Ok(out.stdout)
}

/// Whether `command` runs and succeeds within `timeout`, quietly.
pub fn succeeds(command: Command, timeout: Duration) -> bool {
    capture(command, timeout).is_ok_and(|out| out.status.success())
}
