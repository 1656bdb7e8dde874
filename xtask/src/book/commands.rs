//! The commands the book shows, run the way the check promises: in full, or only as far as
//! proving that they parse.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::Depth;
use super::serve::serve_once;
use crate::cargo;
use crate::deadline::{own_process_group, run_with_deadline};

/// A command a chapter shows.
pub(super) struct ShownCommand {
    /// `chapter.md:line`.
    pub place: String,
    /// The command, without the `$ `.
    pub line: String,
    /// Whether its block is marked `console,slow`: it takes minutes.
    pub slow: bool,
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

/// Runs a command the book shows, the way the check promises to.
pub(super) fn run_shown_command(
    root: &Path,
    mdbook: &Path,
    command: &ShownCommand,
    depth: Depth,
    redis_url: Option<&str>,
) -> Result<()> {
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
            let output = capture(run, redis_url, depth.timeout())?;
            if !in_full && !output.contains("Usage") {
                bail!("its --help printed no usage:\n{output}");
            }
            Ok(())
        }
        ["cargo", "bench", rest @ ..] if in_full => {
            shown("");
            let mut bench = cargo(root);
            bench.arg("bench").args(rest);
            capture(bench, redis_url, depth.timeout()).map(drop)
        }
        ["cargo", "bench", "-p" | "--package", package, ..] => {
            shown(" (its bench target exists)");
            has_bench_target(root, package)
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
            if output.status.code().is_some_and(|c| c <= 1) && stdout.contains("total: ") {
                Ok(())
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
                return Ok(());
            }
            shown("");
            let mut peers = cargo(root);
            peers.args(&words[1..]);
            let output = capture(peers, None, depth.timeout())?;
            if !output.contains("Rust / best") {
                bail!("the peer comparison printed no table:\n{output}");
            }
            Ok(())
        }
        ["cargo", "xtask", rest @ ..] if !rest.is_empty() => {
            // `test` runs `verify` and `book`, and CI runs `test`: here they must parse.
            shown(" (its arguments parse; CI runs it)");
            crate::parse_task(&words[1..])
        }
        ["mdbook", "serve", "book"] => serve_once(root, mdbook),
        _ => bail!(
            "no check runs this command; the book may show `cargo run ...`, `cargo bench ...`, \
             `cargo xtask ...` and `mdbook serve book`"
        ),
    }
}

/// Runs a command to its end (within `timeout`), with Redis if given; its output, or an
/// error with it.
fn capture(mut command: Command, redis_url: Option<&str>, timeout: Duration) -> Result<String> {
    if let Some(url) = redis_url {
        command.env("REDIS_URL", url);
    }
    let grouped = own_process_group();
    let (status, output) = run_with_deadline(command, timeout, grouped)?;
    match status {
        Some(status) if status.success() => Ok(output),
        Some(status) => bail!("failed ({status}):\n{output}"),
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
    fn sessions_from_04_on_need_redis() {
        assert!(needs_redis("cargo run -p session04_redis --bin worker"));
        assert!(needs_redis("cargo run --package session05_distributed"));
        assert!(!needs_redis("cargo run -p session03_workers"));
        assert!(!needs_redis("cargo xtask grade 4"));
    }
}
