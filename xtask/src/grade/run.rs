//! Building a session's graded tests and running them, under a deadline.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::exercises::Session;
use super::results::{failure_message, parse_results};
use super::text::truncate;
use crate::cargo;
use crate::deadline::run_with_deadline;

/// Which code the tests run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// The student's files (the stubs on a fresh clone).
    Student,
    /// The reference solutions.
    Solutions,
    /// The recorded shortcuts, and the reference solutions of exercises without one.
    Shortcuts,
}

impl Code {
    /// The cargo features that switch this code in.
    fn features(self) -> &'static [&'static str] {
        match self {
            Code::Student => &[],
            Code::Solutions => &["--features", "solutions"],
            Code::Shortcuts => &["--features", "shortcuts"],
        }
    }

    /// What it is, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Code::Student => "your code",
            Code::Solutions => "the reference solutions",
            Code::Shortcuts => "the recorded shortcuts",
        }
    }
}

/// How the message of a test the deadline cut off starts.
pub const DID_NOT_FINISH: &str = "did not finish";
/// How the message of a test that never ran starts.
pub const DID_NOT_RUN: &str = "did not run";

/// What became of one graded test.
#[derive(Debug, Clone)]
pub struct TestRun {
    /// The test's name.
    pub name: String,
    /// `None` when it passed, otherwise why it failed.
    pub failure: Option<String>,
}

/// The result of running a session's graded tests.
#[derive(Debug, Clone)]
pub enum SessionRun {
    /// The tests ran; those cut off by the deadline count as failed.
    Ran(Vec<TestRun>),
    /// The tests did not build; the compiler's errors.
    DidNotCompile(String),
}

/// Builds and runs a session's graded tests against `code`, stopping them after `timeout`.
/// `root` is the workspace built, `target` cargo's target folder for it.
pub fn run_tests(
    root: &Path,
    target: &Path,
    session: &Session,
    code: Code,
    timeout: Duration,
) -> Result<SessionRun> {
    eprintln!(
        "building the graded tests of {} ({})",
        session.package,
        code.describe()
    );
    let started = Instant::now();
    let build = cargo(root)
        .args(["test", "--locked", "--no-run", "--test", "exercises"])
        .args(["--package", &session.package])
        .args(code.features())
        .env("CARGO_TARGET_DIR", target)
        .args([
            "--message-format",
            "json-render-diagnostics",
            "--color",
            "never",
        ])
        .stdin(Stdio::null())
        .output()
        .context("cannot run cargo")?;
    let stdout = String::from_utf8_lossy(&build.stdout);
    if !build.status.success() {
        return Ok(SessionRun::DidNotCompile(compiler_errors(
            &String::from_utf8_lossy(&build.stderr),
        )));
    }
    let executable = test_executable(&stdout)
        .with_context(|| format!("cargo built no `exercises` test for {}", session.package))?;
    eprintln!("built in {:.0} s", started.elapsed().as_secs_f64());
    let started = Instant::now();

    let listed = Command::new(&executable)
        .args(["--list", "--color", "never"])
        .current_dir(&session.dir)
        .output()
        .with_context(|| format!("cannot run {}", executable.display()))?;
    let names: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .map(str::to_owned)
        .collect();

    let mut tests = Command::new(&executable);
    tests
        .args(["--color", "never"])
        .current_dir(&session.dir)
        .env("RUST_BACKTRACE", "0");
    let (status, output) = run_with_deadline(tests, timeout, false)?;
    eprintln!(
        "ran {} graded tests in {:.0} s",
        names.len(),
        started.elapsed().as_secs_f64()
    );
    let finished = parse_results(&output);
    let tests = names
        .into_iter()
        .map(|name| {
            // Any FAILED line for a test fails it: the code under test shares libtest's
            // stdout, and a line it prints must not turn a failure into a pass.
            let results: Vec<bool> = finished
                .iter()
                .filter(|(n, _)| *n == name)
                .map(|(_, passed)| *passed)
                .collect();
            let failure = match (results.contains(&false), results.contains(&true)) {
                (false, true) => None,
                (true, _) => Some(failure_message(&output, &name)),
                (false, false) if status.is_none() => Some(format!(
                    "{DID_NOT_FINISH} within {} s (an endless loop?)",
                    timeout.as_secs()
                )),
                (false, false) => Some(format!("{DID_NOT_RUN} (the test binary stopped early)")),
            };
            TestRun { name, failure }
        })
        .collect();
    Ok(SessionRun::Ran(tests))
}

/// The path of the `exercises` test binary, from cargo's JSON messages.
fn test_executable(messages: &str) -> Option<PathBuf> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "exercises")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
}

/// The compiler's errors from cargo's stderr, without the progress lines.
fn compiler_errors(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().collect();
    let start = lines
        .iter()
        .position(|line| line.starts_with("error"))
        .unwrap_or(0);
    let text = lines[start..].join("\n");
    truncate(&text, 6000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiler_errors_drop_the_progress_lines() {
        let stderr = "   Compiling foo v0.1.0\nerror[E0308]: mismatched types\n --> src/a.rs:1:1\n";
        assert_eq!(
            compiler_errors(stderr),
            "error[E0308]: mismatched types\n --> src/a.rs:1:1"
        );
    }
}
