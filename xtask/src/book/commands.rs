//! The commands the book shows, run the way the check promises: in full, or only as far as
//! proving that they parse.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::Depth;
use super::serve::serve_once;
use crate::cargo;
use crate::deadline::{own_process_group, run_with_deadline};

/// A command a chapter shows.
pub(super) struct ShownCommand {
    /// The chapter, relative to `book/src`.
    pub chapter: PathBuf,
    /// `chapter.md:line`.
    pub place: String,
    /// The command, without the `$ `.
    pub line: String,
    /// Whether its block is marked `console,slow`: it takes minutes.
    pub slow: bool,
    /// The lines shown under it: the output it prints (see `output.rs`).
    pub expected: Vec<String>,
}

impl ShownCommand {
    /// The exit status the book shows for it with a last line `[exit status: N]`, and the
    /// output above that line; a status of 0 when the book shows none.
    pub fn expected_exit(&self) -> (i32, &[String]) {
        let shown = match self.expected.iter().rposition(|l| !l.trim().is_empty()) {
            Some(last) => &self.expected[..=last],
            None => &self.expected[..0],
        };
        match shown.split_last() {
            Some((last, above)) => match last
                .trim()
                .strip_prefix("[exit status: ")
                .and_then(|rest| rest.strip_suffix(']'))
                .and_then(|code| code.parse().ok())
            {
                Some(code) => (code, above),
                None => (0, shown),
            },
            None => (0, shown),
        }
    }
}

/// Whether a command runs a session that needs Redis (04 and later).
pub(super) fn needs_redis(line: &str) -> bool {
    line.split_whitespace().any(|word| {
        word.strip_prefix("session")
            .and_then(|rest| rest.get(..2))
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| n >= 4)
    })
}

/// Runs a command the book shows, the way the check promises to: what it printed when it
/// ran in full, or `None` when it only had to parse or prints nothing the book shows.
pub(super) fn run_shown_command(
    root: &Path,
    mdbook: &Path,
    command: &ShownCommand,
    depth: Depth,
    redis_url: Option<&str>,
) -> Result<Option<String>> {
    if command.line.chars().any(|c| "|&;<>()$`\\\"'*?".contains(c)) {
        bail!(
            "the book check runs commands without a shell: no pipes, quotes, globs or redirections"
        );
    }
    let words: Vec<&str> = command.line.split_whitespace().collect();
    let in_full = depth == Depth::Slow || !command.slow;
    let shown = |how: &str| eprintln!("$ {}{how} (shown in {})", command.line, command.place);
    match words.as_slice() {
        ["cargo", "run", rest @ ..] => {
            let (cargo_args, program_args) = match rest.iter().position(|w| *w == "--") {
                Some(split) => (&rest[..split], &rest[split + 1..]),
                None => (rest, &[][..]),
            };
            let mut args: Vec<&str> = vec!["run", "--quiet", "--locked"];
            // The dev build runs the same source with the same arguments.
            args.extend(
                cargo_args
                    .iter()
                    .filter(|a| depth == Depth::Slow || **a != "--release"),
            );
            args.push("--");
            args.extend(program_args);
            if !in_full {
                args.push("--help");
            }
            shown(if in_full { "" } else { " --help" });
            let mut run = cargo(root);
            run.args(&args);
            let status = if in_full {
                command.expected_exit().0
            } else {
                0
            };
            let output = capture(run, redis_url, depth.timeout(), status)?;
            if !in_full {
                if !output.contains("Usage") {
                    bail!("its --help printed no usage:\n{output}");
                }
                return Ok(None);
            }
            Ok(Some(output))
        }
        ["cargo", "bench", rest @ ..] if in_full => {
            shown("");
            let mut bench = cargo(root);
            bench.arg("bench").args(rest);
            capture(bench, redis_url, depth.timeout(), 0).map(Some)
        }
        ["cargo", "bench", "-p" | "--package", package, ..] => {
            shown(" (its bench target exists)");
            has_bench_target(root, package).map(|()| None)
        }
        ["cargo", subcommand @ ("fetch" | "build"), rest @ ..] => {
            // A build the classroom prepares ahead: in a slow block, it only has to parse.
            shown(if in_full { "" } else { " --help" });
            let mut cargo_command = cargo(root);
            cargo_command.arg(subcommand).args(rest);
            if !in_full {
                cargo_command.arg("--help");
            }
            capture(cargo_command, None, depth.timeout(), 0)?;
            Ok(None)
        }
        ["cargo", "xtask", "grade", rest @ ..] if rest.contains(&"--submission") => {
            // A student's clone the reader has and the check has not: `verify` grades a
            // submission from a pristine copy for real.
            crate::parse_task(&words[1..])?;
            shown(" (its arguments parse)");
            Ok(None)
        }
        ["cargo", "xtask", "grade", rest @ ..] => {
            shown("");
            let output = cargo(root)
                .args(["xtask", "grade"])
                .args(rest)
                .arg("--out")
                .arg(crate::target_dir(root).join("book-check"))
                .stdin(Stdio::null())
                .output()
                .context("cannot run cargo")?;
            let stdout = String::from_utf8_lossy(&output.stdout);
            // Exit status 1 means "not every point earned", which stubs are expected to give.
            // Its standard error is cargo building the tests: not part of what the book shows.
            if output.status.code().is_some_and(|c| c <= 1) && stdout.contains("total: ") {
                Ok(Some(stdout.into_owned()))
            } else {
                bail!(
                    "the grader failed ({}):\n{}",
                    output.status,
                    String::from_utf8_lossy(&output.stderr)
                )
            }
        }
        ["cargo", "xtask", "bench-peers", rest @ ..] => {
            if rest.contains(&"--record") {
                bail!("the book must not show --record: the check would overwrite the record");
            }
            crate::parse_task(&words[1..])?;
            if !in_full {
                shown(" (its arguments parse)");
                return Ok(None);
            }
            shown("");
            let mut peers = cargo(root);
            peers.args(&words[1..]);
            let output = capture(peers, None, depth.timeout(), 0)?;
            if !output.contains("Rust / best") {
                bail!("the peer comparison printed no table:\n{output}");
            }
            Ok(Some(output))
        }
        ["cargo", "xtask", rest @ ..] if !rest.is_empty() => {
            // `test` runs `verify` and `book`, and CI runs `test`: here they must parse.
            shown(" (its arguments parse; CI runs it)");
            crate::parse_task(&words[1..]).map(|()| None)
        }
        ["mdbook", "serve", "book"] => serve_once(root, mdbook).map(|()| None),
        _ => bail!(
            "no check runs this command; the book may show `cargo run ...`, `cargo bench ...`, \
             `cargo fetch ...`, `cargo build ...`, `cargo xtask ...` and `mdbook serve book`"
        ),
    }
}

/// Runs a command to its end (within `timeout`), with Redis if given; its output when it
/// exits with `status`, or an error with it.
fn capture(
    mut command: Command,
    redis_url: Option<&str>,
    timeout: Duration,
    expected: i32,
) -> Result<String> {
    if let Some(url) = redis_url {
        command.env("REDIS_URL", url);
    }
    let grouped = own_process_group();
    let (status, output) = run_with_deadline(command, timeout, grouped)?;
    match status {
        Some(status) if status.code() == Some(expected) => Ok(output),
        Some(status) if expected == 0 => bail!("failed ({status}):\n{output}"),
        Some(status) => {
            bail!("exited with {status}, not the status {expected} the book shows:\n{output}")
        }
        None => bail!("did not finish within {} s:\n{output}", timeout.as_secs()),
    }
}

/// Whether a package has a `cargo bench` target.
fn has_bench_target(root: &Path, package: &str) -> Result<()> {
    let output = cargo(root)
        .args(["metadata", "--no-deps", "--format-version", "1", "--locked"])
        .output()
        .context("cannot run cargo metadata")?;
    if !output.status.success() {
        bail!("cargo metadata failed ({})", output.status);
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let benches = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["name"] == package)
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .filter(|t| {
            t["kind"]
                .as_array()
                .is_some_and(|k| k.contains(&"bench".into()))
        })
        .count();
    if benches == 0 {
        bail!("package {package} has no bench target");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_last_line_shows_the_exit_status() {
        let shown = |lines: &[&str]| ShownCommand {
            chapter: PathBuf::from("c.md"),
            place: "c.md:1".to_owned(),
            line: "cargo run".to_owned(),
            slow: false,
            expected: lines.iter().map(|l| (*l).to_owned()).collect(),
        };
        let failing = shown(&["error: no such file", "[exit status: 1]", ""]);
        assert_eq!(failing.expected_exit(), (1, &failing.expected[..1]));
        let fine = shown(&["done"]);
        assert_eq!(fine.expected_exit(), (0, &fine.expected[..]));
        let silent = shown(&[]);
        assert_eq!(silent.expected_exit(), (0, &silent.expected[..]));
    }

    #[test]
    fn sessions_from_04_on_need_redis() {
        assert!(needs_redis("cargo run -p session04_redis --bin worker"));
        assert!(needs_redis("cargo run --package session05_distributed"));
        assert!(!needs_redis("cargo run -p session03_workers"));
        assert!(!needs_redis("cargo xtask grade 4"));
    }
}
