//! `promtool`, from Debian's `prometheus` package: run under a deadline, or reported as
//! missing so that the tests that need it say why they skip.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// How long one promtool run may take: it reads a few small files.
const DEADLINE: Duration = Duration::from_secs(30);

/// promtool, when installed; otherwise `None`, after printing why the test skips.
pub fn promtool(test: &str) -> Option<Promtool> {
    let found = Command::new("promtool")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !found {
        // CI installs promtool: there, a missing one is a failure.
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "{test}: promtool is not installed: CI must run this check"
        );
        eprintln!("skipped {test}: promtool is not installed (Debian: apt-get install prometheus)");
        return None;
    }
    Some(Promtool)
}

/// A promtool that was found.
pub struct Promtool;

/// What one run said.
pub struct Run {
    pub success: bool,
    /// stdout and stderr together.
    pub text: String,
}

impl Promtool {
    /// `promtool ARGS...` in `dir`, within the deadline.
    pub fn run(&self, dir: &Path, args: &[&str]) -> Run {
        let child = Command::new("promtool")
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start promtool: {error}"));
        let (sender, receiver) = mpsc::channel();
        thread::spawn(move || {
            let _ = sender.send(child.wait_with_output());
        });
        let output: Output = receiver
            .recv_timeout(DEADLINE)
            .unwrap_or_else(|_| {
                panic!(
                    "promtool {} did not finish within {} s",
                    args.join(" "),
                    DEADLINE.as_secs()
                )
            })
            .unwrap_or_else(|error| panic!("promtool failed to run: {error}"));
        Run {
            success: output.status.success(),
            text: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        }
    }

    /// Like [`Promtool::run`], and the run must succeed.
    pub fn passes(&self, dir: &Path, args: &[&str]) -> String {
        let run = self.run(dir, args);
        assert!(
            run.success,
            "promtool {} fails:\n{}",
            args.join(" "),
            run.text
        );
        run.text
    }
}
