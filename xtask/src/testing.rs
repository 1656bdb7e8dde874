//! The test stages of `cargo xtask test`: the workspace's tests with their counts, the
//! targets that must (or must not) hold tests, and the multi-host test where it can run.

use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::cargo;
use crate::deadline::{Watched, own_process_group};

/// How many tests passed, failed and were ignored, summed over every test binary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub passed: u64,
    pub failed: u64,
    pub ignored: u64,
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.ignored
        )
    }
}

impl Counts {
    /// Adds libtest's `test result: ok. 5 passed; 0 failed; 1 ignored; ...` line.
    fn add(&mut self, line: &str) {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            return;
        };
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(what), Some(number)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(number) = number.parse::<u64>() else {
                continue;
            };
            match what {
                "passed" => self.passed += number,
                "failed" => self.failed += number,
                "ignored" => self.ignored += number,
                _ => {}
            }
        }
    }
}

/// How long one `cargo test` may take, build included, before it is stopped: a test that
/// hangs fails the stage instead of holding CI until its own time runs out.
const TEST_DEADLINE: Duration = Duration::from_secs(30 * 60);

/// Runs `cargo test` with `args`, echoing its output, and adds its results to `counts`.
pub fn cargo_test(root: &Path, args: &[&str], counts: &mut Counts) -> Result<()> {
    let line = format!("cargo test {}", args.join(" "));
    eprintln!("$ {line}");
    let mut command = cargo(root);
    command
        .arg("test")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    let mut child = Watched::spawn(command, own_process_group())
        .with_context(|| format!("cannot start {line}"))?;
    // The output is read on a thread of its own, so the deadline holds even while a test
    // binary that outlived cargo keeps the pipe open.
    let seen = Arc::new(Mutex::new(Counts::default()));
    let (done, read) = mpsc::channel::<()>();
    if let Some(stdout) = child.stdout() {
        let seen = Arc::clone(&seen);
        thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut bytes = Vec::new();
            while reader.read_until(b'\n', &mut bytes).is_ok_and(|n| n > 0) {
                let output = String::from_utf8_lossy(&bytes);
                print!("{output}");
                if let Ok(mut seen) = seen.lock() {
                    seen.add(&output);
                }
                bytes.clear();
            }
            let _ = done.send(());
        });
    }
    let status = child.wait_or_stop(TEST_DEADLINE)?;
    // The last lines come right after cargo exits; a straggler holding the pipe longer
    // only costs what it has not printed.
    let _ = read.recv_timeout(Duration::from_secs(10));
    let these = seen.lock().map(|seen| *seen).unwrap_or_default();
    counts.passed += these.passed;
    counts.failed += these.failed;
    counts.ignored += these.ignored;
    let Some(status) = status else {
        bail!(
            "`{line}` did not finish within {} s; {these}",
            TEST_DEADLINE.as_secs()
        );
    };
    if !status.success() {
        bail!("`{line}` failed ({status}); {these}");
    }
    if these.passed == 0 {
        bail!("`{line}` ran no test");
    }
    Ok(())
}

/// Every test of the workspace: unit, integration and doctests. A failing test binary does
/// not stop the others, so one run shows every failure.
pub fn workspace_tests(root: &Path, counts: &mut Counts) -> Result<()> {
    cargo_test(root, &["--workspace", "--locked", "--no-fail-fast"], counts)
}

/// The multi-host test's package and target.
const MULTIHOST: (&str, &str) = ("session05_distributed", "multihost");

/// Why the multi-host test cannot run here, if it cannot: it needs Linux, and the right to
/// make network namespaces (root, and not a container that forbids it).
pub fn multihost_blocker() -> Option<String> {
    if !cfg!(target_os = "linux") {
        return Some("network namespaces are Linux only".to_owned());
    }
    let root_user = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0");
    if !root_user {
        return Some("needs root to make network namespaces".to_owned());
    }
    let probe = format!("xtask-probe-{}", std::process::id());
    let ip = |args: &[&str]| {
        Command::new("ip")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    if !ip(&["netns", "add", &probe]) {
        return Some("`ip netns add` does not work here".to_owned());
    }
    if !ip(&["netns", "delete", &probe]) {
        eprintln!("warning: could not delete the network namespace {probe}");
    }
    None
}

/// Session 05's multi-host test, ignored in the plain run because it needs root: run here
/// explicitly, and it must really run.
pub fn multihost(root: &Path, counts: &mut Counts) -> Result<()> {
    let (package, target) = MULTIHOST;
    // The workspace run counted it as skipped; here it runs.
    let before = counts.passed + counts.failed;
    let result = cargo_test(
        root,
        &[
            "--locked",
            "--package",
            package,
            "--test",
            target,
            "--",
            "--ignored",
        ],
        counts,
    );
    let ran = counts.passed + counts.failed - before;
    counts.ignored = counts.ignored.saturating_sub(ran);
    result
}

/// The file names of the dependencies' artifacts a `cargo build` with `args` uses; the
/// names carry a hash of the features they were built with.
fn dependency_artifacts(root: &Path, args: &[&str], members: &[String]) -> Result<Vec<String>> {
    let output = cargo(root)
        .args(["build", "--locked", "--message-format", "json"])
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo build")?;
    if !output.status.success() {
        bail!(
            "`cargo build {}` failed ({})",
            args.join(" "),
            output.status
        );
    }
    let mut files = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let id = message["package_id"].as_str().unwrap_or_default();
        if message["reason"] != "compiler-artifact" || members.iter().any(|m| m == id) {
            continue;
        }
        for file in message["filenames"].as_array().into_iter().flatten() {
            files.push(file.as_str().unwrap_or_default().to_owned());
        }
    }
    Ok(files)
}

/// Builds each package on its own (`cargo build -p X`, as a student's `cargo run -p X`
/// does) and fails if it uses any dependency built differently from the workspace's build:
/// `workspace-hack` gives every package the union of the features, so one build of each
/// dependency serves every command.
pub fn check_one_dependency_build(root: &Path) -> Result<()> {
    let metadata = metadata(root)?;
    let shared = dependency_artifacts(
        root,
        &["--workspace", "--lib", "--bins", "--tests"],
        &metadata.workspace_members,
    )?;
    let mut problems = Vec::new();
    let members = metadata
        .packages
        .iter()
        .filter(|p| metadata.workspace_members.contains(&p.id));
    for package in members {
        let own = dependency_artifacts(
            root,
            &["--package", &package.name],
            &metadata.workspace_members,
        )?;
        for file in own.iter().filter(|f| !shared.contains(f)) {
            let name = Path::new(file)
                .file_name()
                .map_or(file.clone(), |n| n.to_string_lossy().into_owned());
            problems.push(format!(
                "`cargo build -p {}` builds {name} with other features than the workspace",
                package.name
            ));
        }
    }
    if !problems.is_empty() {
        bail!(
            "{}\nworkspace-hack is out of date: run `cargo hakari generate && cargo hakari \
             manage-deps` (`cargo install cargo-hakari --locked`)",
            problems.join("\n")
        );
    }
    eprintln!("every package builds on the workspace's one build of the dependencies");
    Ok(())
}

fn metadata(root: &Path) -> Result<Metadata> {
    let output = cargo(root)
        .args(["metadata", "--no-deps", "--format-version", "1", "--locked"])
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo metadata")?;
    if !output.status.success() {
        bail!("cargo metadata failed ({})", output.status);
    }
    serde_json::from_slice(&output.stdout).context("cannot read cargo metadata")
}

#[derive(Debug, Deserialize)]
struct Metadata {
    packages: Vec<Package>,
    workspace_members: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Package {
    id: String,
    name: String,
    targets: Vec<Target>,
}

#[derive(Debug, Deserialize)]
struct Target {
    name: String,
    kind: Vec<String>,
    src_path: PathBuf,
    test: bool,
}

/// Each library and binary builds a unit-test binary only when it holds tests: a target
/// with `test = false` must hold none (they would never run), and the unit-test binary of
/// one without must list some (or it compiles its crate a second time for nothing).
pub fn check_test_flags(root: &Path) -> Result<()> {
    let metadata = metadata(root)?;
    let mut problems = Vec::new();
    for package in metadata
        .packages
        .iter()
        .filter(|p| metadata.workspace_members.contains(&p.id))
    {
        for target in package.targets.iter().filter(|t| !t.test) {
            if !target.kind.iter().any(|k| k == "lib" || k == "bin") {
                continue;
            }
            if let Some(file) = module_tree(&target.src_path)
                .iter()
                .find(|file| holds_tests(file))
            {
                problems.push(format!(
                    "{} `{}` has `test = false`, but {} holds tests, which would never run",
                    package.name,
                    target.name,
                    file.strip_prefix(root).unwrap_or(file).display()
                ));
            }
        }
    }
    // The unit-test binaries `cargo test --workspace` built (naming `--lib` or `--bins`
    // would build them for `test = false` targets too): each must list a test.
    let output = cargo(root)
        .args(["test", "--workspace", "--locked", "--no-run"])
        .args(["--message-format", "json"])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo test --no-run")?;
    if !output.status.success() {
        bail!("cargo test --no-run failed ({})", output.status);
    }
    let mut binaries = 0;
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let Some(executable) = message["executable"].as_str() else {
            continue;
        };
        let unit = message["target"]["kind"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|k| k == "lib" || k == "bin"));
        if message["reason"] != "compiler-artifact" || message["profile"]["test"] != true || !unit {
            continue;
        }
        binaries += 1;
        let listed = Command::new(executable)
            .args(["--list", "--format", "terse"])
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("cannot run {executable} --list"))?;
        let tests = String::from_utf8_lossy(&listed.stdout)
            .lines()
            .filter(|line| line.ends_with(": test"))
            .count();
        if tests == 0 {
            problems.push(format!(
                "the {} `{}` holds no tests: set `test = false` on it in Cargo.toml, so \
                 `cargo test` does not compile it again for nothing",
                message["target"]["kind"][0].as_str().unwrap_or("target"),
                message["target"]["name"].as_str().unwrap_or_default()
            ));
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    eprintln!("{binaries} unit-test binaries, each with tests; no test = false target holds any");
    Ok(())
}

/// A crate root's files: it and the modules it declares (`mod name;`), recursively.
fn module_tree(root_file: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![root_file.to_path_buf()];
    while let Some(file) = pending.pop() {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        // `lib.rs`, `main.rs` and `mod.rs` declare modules beside them; `a.rs` in `a/`.
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let parent = file.parent().unwrap_or(Path::new("."));
        let dir = if file == root_file || stem == "mod" {
            parent.to_path_buf()
        } else {
            parent.join(stem)
        };
        let mut path_attribute = None;
        for line in text.lines().map(str::trim) {
            if let Some(path) = line
                .strip_prefix("#[path = \"")
                .and_then(|rest| rest.strip_suffix("\"]"))
            {
                path_attribute = Some(path.to_owned());
                continue;
            }
            let declared = line
                .trim_start_matches("pub ")
                .trim_start_matches("pub(crate) ")
                .strip_prefix("mod ")
                .and_then(|rest| rest.strip_suffix(';'));
            if let Some(name) = declared {
                // A `#[path]` is relative to the declaring file's own folder.
                match path_attribute.take() {
                    Some(path) => pending.push(parent.join(path)),
                    None => {
                        let flat = dir.join(format!("{name}.rs"));
                        pending.push(if flat.is_file() {
                            flat
                        } else {
                            dir.join(name).join("mod.rs")
                        });
                    }
                }
            } else if !line.starts_with("#[") {
                path_attribute = None;
            }
        }
        files.push(file);
    }
    files
}

/// Whether a file declares a test or a test module.
fn holds_tests(file: &Path) -> bool {
    std::fs::read_to_string(file).is_ok_and(|text| {
        text.lines().any(|line| {
            let line = line.trim_start();
            line.starts_with("#[test]")
                || line.starts_with("#[cfg(test)]")
                || line.starts_with("#[tokio::test")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_lines_add_up() {
        let mut counts = Counts::default();
        counts.add("test result: ok. 5 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s");
        counts.add("running 3 tests");
        counts
            .add("test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out");
        assert_eq!(
            counts,
            Counts {
                passed: 7,
                failed: 1,
                ignored: 1
            }
        );
        assert_eq!(counts.to_string(), "7 passed, 1 failed, 1 skipped");
    }

    #[test]
    fn the_module_tree_follows_declarations_and_path_attributes() {
        let dir = std::env::temp_dir().join(format!("xtask-tree-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("src/a")).unwrap();
        std::fs::create_dir_all(dir.join("other")).unwrap();
        std::fs::write(
            dir.join("src/main.rs"),
            "mod a;\npub(crate) mod b;\nfn main() {}\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("src/a.rs"),
            "#[cfg(test)]\n#[path = \"../other/c.rs\"]\nmod c;\n",
        )
        .unwrap();
        std::fs::write(dir.join("src/b.rs"), "// mod not_a_module;\n").unwrap();
        std::fs::write(dir.join("other/c.rs"), "").unwrap();
        std::fs::write(dir.join("src/unrelated.rs"), "#[test]\nfn t() {}\n").unwrap();
        let names: Vec<String> = module_tree(&dir.join("src/main.rs"))
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["main.rs", "b.rs", "a.rs", "c.rs"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_module_tree_enters_module_folders() {
        let dir = std::env::temp_dir().join(format!("xtask-tree-mod-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("src/d")).unwrap();
        std::fs::write(dir.join("src/main.rs"), "mod d;\nfn main() {}\n").unwrap();
        std::fs::write(
            dir.join("src/d/mod.rs"),
            "mod e;\n#[path = \"../../f.rs\"]\nmod f;\n",
        )
        .unwrap();
        std::fs::write(dir.join("src/d/e.rs"), "").unwrap();
        std::fs::write(dir.join("f.rs"), "").unwrap();
        let files: Vec<PathBuf> = module_tree(&dir.join("src/main.rs"))
            .iter()
            .map(|f| f.strip_prefix(&dir).unwrap().to_path_buf())
            .collect();
        assert_eq!(
            files,
            [
                "src/main.rs",
                "src/d/mod.rs",
                "src/d/../../f.rs",
                "src/d/e.rs"
            ]
            .map(PathBuf::from)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn test_markers_are_found_and_comments_are_not_tests() {
        let dir = std::env::temp_dir().join(format!("xtask-testing-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let with = dir.join("with.rs");
        let without = dir.join("without.rs");
        std::fs::write(&with, "fn a() {}\n#[cfg(test)]\nmod tests {}\n").unwrap();
        std::fs::write(&without, "//! `#[test]` in prose\nfn a() {}\n").unwrap();
        assert!(holds_tests(&with));
        assert!(!holds_tests(&without));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
