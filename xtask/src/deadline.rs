//! Child processes under a deadline: stopped when it passes, together with what they
//! started when they run in a process group of their own.

use std::io::{self, IsTerminal, Read};
use std::process::{ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
#[cfg(unix)]
use process_wrap::std::ProcessGroup;
use process_wrap::std::{ChildWrapper, CommandWrap};

/// How often a running child is asked whether it has exited.
const POLL: Duration = Duration::from_millis(20);

/// Whether to run a child in a process group of its own, so a deadline can stop it with
/// everything it started. Not at a terminal: there Ctrl-C must reach the child too, and
/// it only reaches the terminal's group.
pub fn own_process_group() -> bool {
    !io::stderr().is_terminal()
}

/// A running child that a deadline stops: its whole process group when it has one (Unix),
/// else it.
#[derive(Debug)]
pub struct Watched {
    child: Box<dyn ChildWrapper>,
    grouped: bool,
}

impl Watched {
    /// Starts `command`, in a process group of its own when `grouped`.
    pub fn spawn(command: Command, grouped: bool) -> io::Result<Self> {
        let mut command = CommandWrap::from(command);
        #[cfg(unix)]
        if grouped {
            command.wrap(ProcessGroup::leader());
        }
        Ok(Self {
            child: command.spawn()?,
            grouped: grouped && cfg!(unix),
        })
    }

    /// Its stdout, when piped and not taken yet.
    pub fn stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout().take()
    }

    /// Its stderr, when piped and not taken yet.
    pub fn stderr(&mut self) -> Option<ChildStderr> {
        self.child.stderr().take()
    }

    /// Waits for it to exit: its status, or `None` when `timeout` passed first and it was
    /// stopped.
    pub fn wait_or_stop(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(Some(status));
            }
            if started.elapsed() > timeout {
                // Gone in the meantime is fine: either way it no longer runs.
                let _ = self.child.start_kill();
                let _ = self.child.wait();
                return Ok(None);
            }
            thread::sleep(POLL);
        }
    }

    /// Once it has exited: stops what it started and left running in its process group.
    pub fn stop_leftovers(&mut self) {
        if self.grouped {
            // An empty group is fine: nothing is left.
            let _ = self.child.start_kill();
        }
    }
}

/// Runs a command to its end or the deadline; `None` for the status means it was stopped.
/// The output is its stdout, then its stderr.
///
/// With `group` set, on Unix, the command runs in a process group of its own and the
/// deadline stops the whole group: a program started through `cargo run` goes with cargo,
/// and its pipes close. (Without it, Ctrl-C in the terminal reaches the command too.)
pub fn run_with_deadline(
    mut command: Command,
    timeout: Duration,
    group: bool,
) -> Result<(Option<ExitStatus>, String)> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child =
        Watched::spawn(command, group).with_context(|| format!("cannot start {program}"))?;
    let readers = [
        child.stdout().map(|s| Box::new(s) as Box<dyn Read + Send>),
        child.stderr().map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .map(|pipe| {
        thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut pipe) = pipe {
                // A read error only cuts the output short; the status still tells the story.
                let _ = pipe.read_to_end(&mut text);
            }
            String::from_utf8_lossy(&text).into_owned()
        })
    });
    let status = child.wait_or_stop(timeout)?;
    if status.is_some() {
        // What it started and left behind would hold the pipes open.
        child.stop_leftovers();
    }
    let mut output = String::new();
    for reader in readers {
        output += &reader.join().unwrap_or_default();
    }
    Ok((status, output))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_past_the_deadline_is_stopped() {
        if cfg!(windows) {
            return;
        }
        let mut sleep = Command::new("sleep");
        sleep.arg("30");
        let (status, _) = run_with_deadline(sleep, Duration::from_millis(300), true).unwrap();
        // `None` means stopped at the deadline; a finished sleep would have a status.
        assert!(status.is_none(), "the sleep was not stopped");
    }

    #[test]
    fn what_a_grouped_command_leaves_behind_is_stopped() {
        if !cfg!(unix) {
            return;
        }
        // The shell exits at once; its background sleep would hold the pipes for 30 s.
        let mut shell = Command::new("sh");
        shell.args(["-c", "sleep 30 & echo started"]);
        let started = Instant::now();
        let (status, output) = run_with_deadline(shell, Duration::from_secs(20), true).unwrap();
        assert!(status.is_some_and(|s| s.success()), "{status:?}");
        assert_eq!(output, "started\n");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the sleep was left running"
        );
    }
}
