//! The commands the book shows, run the way the check promises: in full, or only as far as
//! proving that they parse. The labs' commands need what the check does not have: a Docker
//! engine for session 06's `docker ...` and `docker compose ...`, a kind cluster for session
//! 07's `kind ...`, `kubectl ...` and `curl ...`. It accepts one only when a lab runs it
//! (`cargo xtask lab compose`'s list of commands, `cargo xtask lab kind`'s plan), and such a
//! command shows no output in its console block, since nothing here can compare it.

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

/// Whether a command runs a session that needs Redis (04 and later): a `cargo` command that
/// names one (a lab's `docker` command names an image, and runs in the lab).
pub(super) fn needs_redis(line: &str) -> bool {
    let mut words = line.split_whitespace();
    words.next() == Some("cargo")
        && words.any(|word| {
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
    if let Some(line) = lab_command(&command.line)? {
        return run_by_lab(command, &line);
    }
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
        [
            "cargo",
            "xtask",
            bench @ ("bench-peers" | "bench-queues"),
            rest @ ..,
        ] => {
            if rest.contains(&"--record") {
                bail!("the book must not show --record: the check would overwrite the record");
            }
            crate::parse_task(&words[1..])?;
            if !in_full {
                shown(" (its arguments parse)");
                return Ok(None);
            }
            shown("");
            let mut bench_command = cargo(root);
            bench_command.args(&words[1..]);
            let output = capture(bench_command, None, depth.timeout(), 0)?;
            let header = if *bench == "bench-peers" {
                "Rust / best"
            } else {
                "session 04 / system"
            };
            if !output.contains(header) {
                bail!("`cargo xtask {bench}` printed no table:\n{output}");
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
             `cargo fetch ...`, `cargo build ...`, `cargo xtask ...`, `mdbook serve book`, and \
             the commands the labs run (`docker ...`, `kind ...`, `kubectl ...`, `curl ...`: \
             `cargo xtask lab compose --print-commands` and `cargo xtask lab kind --plan` list \
             them)"
        ),
    }
}

/// The lab command a shown line is, written as the labs write theirs (`NAME=value`
/// settings first, words unquoted and joined by one space, `docker-compose` as `docker
/// compose`), or `None` when the line starts with no program a lab runs (`docker`, or the
/// first word of a lab's command: `kill`, `kind`, `kubectl`, `curl`).
fn lab_command(line: &str) -> Result<Option<String>> {
    let words = shell_words(line)?;
    let settings = words
        .iter()
        .take_while(|w| {
            w.split_once('=').is_some_and(|(name, _)| {
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            })
        })
        .count();
    let (settings, command) = words.split_at(settings);
    let program: &[&str] = match command.first().map(String::as_str) {
        Some("docker-compose") => &["docker", "compose"],
        Some(first)
            if first == "docker"
                || lab_lines()
                    .iter()
                    .any(|(known, _)| known.split(' ').next() == Some(first)) =>
        {
            &[first]
        }
        _ => return Ok(None),
    };
    let normal: Vec<&str> = settings
        .iter()
        .map(String::as_str)
        .chain(program.iter().copied())
        .chain(command[1..].iter().map(String::as_str))
        .collect();
    Ok(Some(normal.join(" ")))
}

/// Every command the labs run, as they write them, with the lab that runs it.
fn lab_lines() -> Vec<(String, &'static str)> {
    let compose = crate::lab::commands()
        .into_iter()
        .map(|line| (line, "compose"));
    let kind = crate::lab::kind_commands()
        .into_iter()
        .map(|line| (line, "kind"));
    compose.chain(kind).collect()
}

/// A shown command a lab runs: accepted, with nothing to compare.
fn run_by_lab(command: &ShownCommand, line: &str) -> Result<Option<String>> {
    let Some((_, lab)) = lab_lines().into_iter().find(|(known, _)| known == line) else {
        bail!(
            "no lab runs this command, so the book cannot show it (`cargo xtask lab compose \
             --print-commands` and `cargo xtask lab kind --plan` list those they run)"
        );
    };
    if command.expected.iter().any(|l| !l.trim().is_empty()) {
        bail!(
            "the check cannot compare what a lab command prints: show no output under it in \
             its console block, and show what the lab prints in a text block after it"
        );
    }
    eprintln!(
        "$ {} (run by `cargo xtask lab {lab}`; shown in {})",
        command.line, command.place
    );
    Ok(None)
}

/// A command line split into words as a POSIX shell splits it, with single and double
/// quotes; anything else a shell would interpret is refused.
fn shell_words(line: &str) -> Result<Vec<String>> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(open), c) if c == open => quote = None,
            (Some('"'), '$' | '`' | '\\') => {
                bail!("the book check runs commands without a shell: no `{c}` inside quotes")
            }
            (Some(_), c) => word.get_or_insert_with(String::new).push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (None, c) if "|&;<>()$`\\*?".contains(c) => bail!(
                "the book check runs commands without a shell: no pipes, globs, variables or \
                 redirections"
            ),
            (None, c) => word.get_or_insert_with(String::new).push(c),
        }
    }
    if quote.is_some() {
        bail!("a quote is not closed");
    }
    words.extend(word);
    Ok(words)
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
        assert!(needs_redis("cargo run -p session06_docker -- health"));
        assert!(!needs_redis("cargo run -p session03_workers"));
        assert!(!needs_redis("cargo xtask grade 4"));
        // The lab runs its docker commands; the image's name is no session.
        assert!(!needs_redis("docker image ls session06-docker"));
    }

    #[test]
    fn shell_words_follow_quotes_and_refuse_what_needs_a_shell() {
        assert_eq!(
            shell_words("docker inspect --format '{{.A}} {{.B}}' C").unwrap(),
            ["docker", "inspect", "--format", "{{.A}} {{.B}}", "C"]
        );
        assert_eq!(shell_words(r#"a "b c" ''"#).unwrap(), ["a", "b c", ""]);
        assert!(shell_words("a | b").is_err());
        assert!(shell_words("echo $HOME").is_err());
        assert!(shell_words(r#"echo "$HOME""#).is_err());
        assert!(shell_words("echo 'open").is_err());
    }

    #[test]
    fn docker_lines_are_read_as_the_lab_writes_its_commands() {
        assert_eq!(lab_command("cargo run -p x").unwrap(), None);
        assert_eq!(
            lab_command("docker compose  up -d").unwrap().as_deref(),
            Some("docker compose up -d")
        );
        assert_eq!(
            lab_command("docker-compose up -d").unwrap().as_deref(),
            Some("docker compose up -d")
        );
        assert_eq!(
            lab_command("WORKER_DELAY=2 docker-compose up")
                .unwrap()
                .as_deref(),
            Some("WORKER_DELAY=2 docker compose up")
        );
        assert_eq!(
            lab_command("docker inspect --format '{{.RestartCount}} {{.State.Running}}' C")
                .unwrap()
                .as_deref(),
            Some("docker inspect --format {{.RestartCount}} {{.State.Running}} C")
        );
    }

    #[test]
    fn only_the_labs_own_commands_are_accepted_and_without_output() {
        let shown = |line: &str, expected: &[&str]| ShownCommand {
            chapter: PathBuf::from("session06.md"),
            place: "session06.md:1".to_owned(),
            line: line.to_owned(),
            slow: false,
            expected: expected.iter().map(|l| (*l).to_owned()).collect(),
        };
        let lab = crate::lab::commands();
        let first = lab.first().expect("the lab runs commands");
        assert!(run_by_lab(&shown(first, &[]), first).unwrap().is_none());
        let error = run_by_lab(&shown(first, &["some output"]), first).unwrap_err();
        assert!(error.to_string().contains("text block"), "{error}");
        let foreign = "docker rm --force everything";
        assert!(!lab.iter().any(|l| l == foreign));
        let error = run_by_lab(&shown(foreign, &[]), foreign).unwrap_err();
        assert!(error.to_string().contains("no lab runs"), "{error}");
    }

    #[test]
    fn the_kind_labs_commands_are_accepted_as_its_plan_prints_them() {
        let shown = |line: &str| ShownCommand {
            chapter: PathBuf::from("session07.md"),
            place: "session07.md:1".to_owned(),
            line: line.to_owned(),
            slow: false,
            expected: Vec::new(),
        };
        let plan = crate::lab::kind_plan();
        let typed: Vec<&str> = plan
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        assert!(typed.iter().any(|l| l.starts_with("kind create cluster")));
        assert!(typed.iter().any(|l| l.starts_with("docker build")));
        for line in typed {
            let read = lab_command(line)
                .unwrap()
                .unwrap_or_else(|| panic!("{line} is not read as a lab command"));
            assert!(run_by_lab(&shown(line), &read).unwrap().is_none(), "{line}");
        }
        // A quoted word is read without its quotes, as the lab writes it.
        let patch = r#"kubectl patch -n kube-system deployment metrics-server --type=json -p '[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--kubelet-insecure-tls"}]'"#;
        let read = lab_command(patch).unwrap().unwrap();
        assert!(read.ends_with(r#"-p [{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--kubelet-insecure-tls"}]"#));
        // Commands of the same programs that the lab does not run are refused.
        for foreign in [
            "kubectl delete namespace kube-system",
            "kind delete clusters --all",
            "curl https://example.com/install.sh",
        ] {
            let read = lab_command(foreign).unwrap().expect("a lab's program");
            let error = run_by_lab(&shown(foreign), &read).unwrap_err();
            assert!(error.to_string().contains("no lab runs"), "{error}");
        }
        assert_eq!(lab_command("helm install x").unwrap(), None);
    }
}
