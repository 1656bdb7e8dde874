//! `cargo xtask book`: the book's figures, its build, and the checks mdBook leaves out.
//!
//! mdBook only logs a missing include file and silently includes nothing for a missing
//! anchor, and it never looks at links. So the book is checked here, and any problem fails
//! the task:
//!
//! - every chapter in `SUMMARY.md` exists;
//! - every `{{#include path:anchor}}` names a file that exists and an anchor with content
//!   (line-number ranges are refused: they drift as soon as the code changes);
//! - every code block has a language; a `rust` block either compiles as a doctest (its
//!   chapter is included by a crate with `#[doc = include_str!(...)]`) or is `ignore`d
//!   with a reason: it only includes code its crate compiles, or an
//!   `<!-- ignore: why -->` comment stands just above it;
//! - every relative link and image in the built HTML points at a file that exists, and at an
//!   `id` in it when it has a `#fragment`;
//! - every command in a `console` block (`$ ...`) is one this check runs. `cargo run`
//!   commands are run on the dev build (`--release` is dropped: the same source, arguments
//!   and output), `cargo xtask grade` is run into a scratch folder, `mdbook serve book` is
//!   served and fetched once, and other `cargo xtask` commands must parse (CI runs `test`,
//!   which runs `verify` and `book`). Commands of sessions 04 and later get a redis-server
//!   of their own through `REDIS_URL`. A block marked `console,slow` holds commands that take
//!   minutes (benchmarks): the default check runs them with `--help` appended, which proves
//!   the binary and its arguments parse, checks that a `cargo bench` target exists, and
//!   parses `cargo xtask bench-peers`; `cargo xtask book --slow` runs them all in full, as
//!   written.
//!
//! The figures come from the sessions' own demos, written into `book/src/figures/` (not
//! committed: they are regenerated from the code on every build).

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};

use crate::grade::run_with_deadline;
use crate::{cargo, peers, record, run};

/// Figures a session's demo writes for the book.
struct Figures {
    /// The session crate.
    package: &'static str,
    /// Arguments that make its demo write into `folder`.
    args: &'static [&'static str],
    /// Under `book/src/`.
    folder: &'static str,
    /// Files copied as they are: (from the workspace root, to a name in `folder`).
    copies: &'static [(&'static str, &'static str)],
}

const FIGURES: &[Figures] = &[Figures {
    package: "session01_image_basics",
    args: &["--output-dir"],
    folder: "figures/session01",
    copies: &[(
        "session01_image_basics/samples/astronaut.png",
        "00-original.png",
    )],
}];

/// Draws the recorded `cargo xtask bench-peers` results as the book's table and plot.
fn draw_peer_comparison(root: &Path, src: &Path) -> Result<()> {
    let record = root.join(peers::RECORD);
    if !record.is_file() {
        return Ok(());
    }
    let text = std::fs::read_to_string(&record)?;
    let results: peers::Results = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a bench-peers record", peers::RECORD))?;
    let folder = src.join("figures/session02");
    std::fs::create_dir_all(&folder)?;
    std::fs::write(folder.join("bench-peers.md"), peers::markdown(&results))?;
    for (name, markdown) in peers::summary(&results) {
        std::fs::write(folder.join(name), markdown)?;
    }
    peers::plot(&results, &folder.join("bench-peers.svg"))
}

/// How far the check goes with the commands the book shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Slow commands only parse; the rest run (`cargo xtask test`).
    Fast,
    /// Every command runs as written (`cargo xtask book --slow`).
    Slow,
}

impl Depth {
    /// How long one command the book shows may run: under `--slow`, a release build of
    /// every dependency, or the peers' Python environments, may come first.
    fn timeout(self) -> Duration {
        match self {
            Depth::Fast => Duration::from_secs(600),
            Depth::Slow => Duration::from_secs(3600),
        }
    }
}

/// Generates the figures, builds the book and checks it.
pub fn build_and_check(root: &Path, mdbook: &Path, depth: Depth) -> Result<()> {
    let book = root.join("book");
    if !book.join("book.toml").is_file() {
        eprintln!("no book yet (book/book.toml is missing)");
        return Ok(());
    }
    generate_figures(root, &book.join("src"))?;
    draw_peer_comparison(root, &book.join("src"))?;
    record::draw_all(root, &book.join("src/figures"))?;

    let src = book.join("src");
    let mut problems = Vec::new();
    let chapters = chapters(&src, &mut problems)?;
    let doctested = doctested_chapters(root)?;
    let mut commands = Vec::new();
    for chapter in &chapters {
        check_chapter(
            root,
            &src,
            chapter,
            &doctested,
            &mut commands,
            &mut problems,
        )?;
    }
    report(&problems, "the book's sources")?;

    run(Command::new(mdbook).arg("build").arg(&book))?;
    let html = book.join("book");
    for chapter in &chapters {
        let page = html.join(chapter.with_extension("html"));
        check_html(&html, &page, &mut problems)?;
    }
    report(&problems, "the built book")?;

    // Sessions from 04 on show commands that talk to Redis: they get one of their own.
    let redis = if commands.iter().any(|c| needs_redis(&c.line)) {
        Some(BookRedis::start()?)
    } else {
        None
    };
    let redis_url = redis.as_ref().map(|r| r.url.as_str());
    let mut seen = BTreeSet::new();
    for command in commands.iter().filter(|c| seen.insert(c.line.clone())) {
        if let Err(error) = run_shown_command(root, mdbook, command, depth, redis_url) {
            problems.push(format!("{}: `{}`: {error:#}", command.place, command.line));
        }
    }
    report(&problems, "the commands the book shows")?;
    eprintln!(
        "book: {} chapters checked, {} distinct commands checked; open {}",
        chapters.len(),
        seen.len(),
        html.join("index.html").display()
    );
    Ok(())
}

fn report(problems: &[String], what: &str) -> Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    bail!(
        "{} problems in {what}:\n{}",
        problems.len(),
        problems
            .iter()
            .map(|p| format!("- {p}"))
            .collect::<Vec<_>>()
            .join("\n")
    )
}

/// Runs each session's demo into the book's figures folder.
fn generate_figures(root: &Path, src: &Path) -> Result<()> {
    for figures in FIGURES {
        if !root.join(figures.package).is_dir() {
            continue;
        }
        let folder = src.join(figures.folder);
        eprintln!("generating the figures of {}", figures.package);
        run(cargo(root)
            .args([
                "run",
                "--quiet",
                "--locked",
                "--package",
                figures.package,
                "--",
            ])
            .args(figures.args)
            .arg(&folder)
            .stdout(Stdio::null()))?;
        for (from, to) in figures.copies {
            std::fs::copy(root.join(from), folder.join(to))
                .with_context(|| format!("cannot copy {from} into the book"))?;
        }
    }
    Ok(())
}

/// The chapter files `SUMMARY.md` links to, relative to `src`.
fn chapters(src: &Path, problems: &mut Vec<String>) -> Result<Vec<PathBuf>> {
    let summary = std::fs::read_to_string(src.join("SUMMARY.md"))
        .context("cannot read book/src/SUMMARY.md")?;
    let mut chapters = Vec::new();
    for event in Parser::new(&summary) {
        if let Event::Start(Tag::Link { dest_url, .. }) = event {
            if dest_url.is_empty() {
                problems.push("SUMMARY.md: a draft chapter (empty link)".to_owned());
                continue;
            }
            let path = PathBuf::from(dest_url.as_ref());
            if src.join(&path).is_file() {
                chapters.push(path);
            } else {
                problems.push(format!("SUMMARY.md: chapter {dest_url} does not exist"));
            }
        }
    }
    Ok(chapters)
}

/// The chapters some crate compiles as doctests (`include_str!("../../book/src/...")`).
fn doctested_chapters(root: &Path) -> Result<BTreeSet<PathBuf>> {
    let mut chapters = BTreeSet::new();
    for entry in std::fs::read_dir(root)? {
        let lib = entry?.path().join("src/lib.rs");
        let Ok(text) = std::fs::read_to_string(&lib) else {
            continue;
        };
        for (offset, marker) in text.match_indices("book/src/") {
            let rest = &text[offset + marker.len()..];
            if let Some(end) = rest.find('"') {
                chapters.insert(PathBuf::from(&rest[..end]));
            }
        }
    }
    Ok(chapters)
}

/// A command a chapter shows.
struct ShownCommand {
    /// `chapter.md:line`.
    place: String,
    /// The command, without the `$ `.
    line: String,
    /// Whether its block is marked `console,slow`: it takes minutes.
    slow: bool,
}

/// Checks one chapter's includes, code blocks and links, and collects its commands.
fn check_chapter(
    root: &Path,
    src: &Path,
    chapter: &Path,
    doctested: &BTreeSet<PathBuf>,
    commands: &mut Vec<ShownCommand>,
    problems: &mut Vec<String>,
) -> Result<()> {
    let path = src.join(chapter);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let dir = path.parent().unwrap_or(src);
    let name = chapter.display().to_string();
    let line_of = |offset: usize| text[..offset].matches('\n').count() + 1;

    for (offset, directive) in includes(&text) {
        let place = format!("{name}:{}", line_of(offset));
        if let Err(problem) = check_include(dir, directive) {
            problems.push(format!("{place}: {problem}"));
        }
    }

    let mut block: Option<(String, usize, String)> = None;
    for (event, range) in Parser::new(&text).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(kind)) => {
                let info = match kind {
                    CodeBlockKind::Fenced(info) => info.to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                block = Some((info, range.start, String::new()));
            }
            Event::Text(body) => {
                if let Some((_, _, text)) = &mut block {
                    text.push_str(&body);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some((info, start, body)) = block.take() {
                    let place = format!("{name}:{}", line_of(start));
                    let before = text[..start].trim_end();
                    check_code_block(
                        &place,
                        &info,
                        &body,
                        before,
                        doctested.contains(chapter),
                        problems,
                    );
                    let mut attributes = info.split(',').map(str::trim);
                    if attributes.next() == Some("console") {
                        let slow = attributes.any(|a| a == "slow");
                        for (i, line) in body.lines().enumerate() {
                            if let Some(command) = line.strip_prefix("$ ") {
                                commands.push(ShownCommand {
                                    place: format!("{name}:{}", line_of(start) + 1 + i),
                                    line: command.trim().to_owned(),
                                    slow,
                                });
                            }
                        }
                    }
                }
            }
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
                let place = format!("{name}:{}", line_of(range.start));
                if let Some(problem) = check_link_target(root, dir, &dest_url) {
                    problems.push(format!("{place}: {problem}"));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Every `{{#include ...}}` and `{{#rustdoc_include ...}}` with its byte offset.
fn includes(text: &str) -> Vec<(usize, &str)> {
    let mut found = Vec::new();
    for marker in ["{{#include ", "{{#rustdoc_include "] {
        for (offset, _) in text.match_indices(marker) {
            // `\{{#include ...}}` is mdBook's escape: shown as text, not included.
            if text[..offset].ends_with('\\') {
                continue;
            }
            let rest = &text[offset + marker.len()..];
            if let Some(end) = rest.find("}}") {
                found.push((offset, rest[..end].trim()));
            }
        }
    }
    found.sort_by_key(|(offset, _)| *offset);
    found
}

/// Checks `path` or `path:anchor` against the file system, the way mdBook resolves it.
fn check_include(dir: &Path, directive: &str) -> Result<(), String> {
    let (file, selector) = match directive.split_once(':') {
        Some((file, selector)) => (file, Some(selector)),
        None => (directive, None),
    };
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("include {file}: cannot read it ({e})"))?;
    let Some(anchor) = selector else {
        return Ok(());
    };
    if anchor.is_empty() || anchor.contains(':') || anchor.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "include {directive}: use a named anchor, not line numbers (they drift when the code changes)"
        ));
    }
    let is_marker = |line: &str, kind: &str| {
        line.split_once(kind)
            .is_some_and(|(_, name)| name.trim() == anchor)
    };
    let lines: Vec<&str> = text.lines().collect();
    let starts: Vec<usize> = (0..lines.len())
        .filter(|&i| is_marker(lines[i], "ANCHOR:"))
        .collect();
    let ends: Vec<usize> = (0..lines.len())
        .filter(|&i| is_marker(lines[i], "ANCHOR_END:"))
        .collect();
    match (starts.as_slice(), ends.as_slice()) {
        ([], _) => Err(format!(
            "include {directive}: {file} has no `ANCHOR: {anchor}`"
        )),
        (_, []) => Err(format!(
            "include {directive}: {file} has no `ANCHOR_END: {anchor}`"
        )),
        ([start], [end]) if start < end => {
            let content = lines[start + 1..*end]
                .iter()
                .filter(|line| !line.contains("ANCHOR:") && !line.contains("ANCHOR_END:"))
                .any(|line| !line.trim().is_empty());
            if content {
                Ok(())
            } else {
                Err(format!("include {directive}: the anchor is empty"))
            }
        }
        ([_], [_]) => Err(format!(
            "include {directive}: ANCHOR_END comes before ANCHOR"
        )),
        _ => Err(format!(
            "include {directive}: the anchor appears more than once in {file}"
        )),
    }
}

/// Checks a code block's language and, for Rust, that it compiles or says why it does not.
fn check_code_block(
    place: &str,
    info: &str,
    body: &str,
    before: &str,
    chapter_is_doctested: bool,
    problems: &mut Vec<String>,
) {
    let mut attributes = info.split(',').map(str::trim);
    let language = attributes.next().unwrap_or_default();
    match language {
        "" => problems.push(format!(
            "{place}: a code block without a language (rustdoc would compile it as Rust; use text, console, rust ...)"
        )),
        "sh" | "bash" | "shell" => problems.push(format!(
            "{place}: show commands in a ```console block with `$ ` prompts, so the book check runs them"
        )),
        "rust" => {
            let ignored = attributes.any(|a| a == "ignore");
            let only_includes = body.lines().all(|line| {
                let line = line.trim();
                line.is_empty() || (line.starts_with("{{#") && line.ends_with("}}"))
            });
            if ignored {
                let reason = before
                    .lines()
                    .last()
                    .is_some_and(|line| line.trim_start().starts_with("<!-- ignore:"));
                if !only_includes && !reason {
                    problems.push(format!(
                        "{place}: an ignored Rust block needs its reason in an `<!-- ignore: why -->` line just above it"
                    ));
                }
            } else if only_includes || body.contains("{{#") {
                problems.push(format!(
                    "{place}: a Rust block that includes crate code must be `rust,ignore` (its crate compiles it)"
                ));
            } else if !chapter_is_doctested {
                problems.push(format!(
                    "{place}: this chapter's Rust blocks are not compiled; include the chapter in a crate with \
                     #[cfg(doctest)] #[doc = include_str!(...)], or mark the block ignore with a reason"
                ));
            }
        }
        _ => {}
    }
}

/// A relative link or image must point at a file under the book's source or the workspace.
fn check_link_target(root: &Path, dir: &Path, target: &str) -> Option<String> {
    if target.contains("://") || target.starts_with("mailto:") || target.starts_with('#') {
        return None;
    }
    let file = target.split('#').next().unwrap_or(target);
    let path = normalize(&dir.join(file));
    if !path.starts_with(normalize(root)) {
        return Some(format!("link {target} leaves the repository"));
    }
    (!path.exists()).then(|| format!("link or image {target} points at nothing"))
}

/// Removes `.` and `..` components without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Checks every relative `href` and `src` of a built page, fragments included.
fn check_html(html_root: &Path, page: &Path, problems: &mut Vec<String>) -> Result<()> {
    let text = std::fs::read_to_string(page)
        .with_context(|| format!("mdBook wrote no {}", page.display()))?;
    let name = page
        .strip_prefix(html_root)
        .unwrap_or(page)
        .display()
        .to_string();
    if text.contains("{{#include") || text.contains("{{#rustdoc_include") {
        problems.push(format!("{name}: an include was left unresolved"));
    }
    let dir = page.parent().unwrap_or(html_root);
    for attribute in ["href=\"", "src=\""] {
        for (offset, _) in text.match_indices(attribute) {
            let rest = &text[offset + attribute.len()..];
            let Some(end) = rest.find('"') else { continue };
            let target = &rest[..end];
            if target.is_empty()
                || target.contains("://")
                || target.starts_with("mailto:")
                || target.starts_with("data:")
                || target.starts_with("javascript:")
            {
                continue;
            }
            let (file, fragment) = match target.split_once('#') {
                Some((file, fragment)) => (file, Some(fragment)),
                None => (target, None),
            };
            let file = file.split('?').next().unwrap_or(file);
            let path = if file.is_empty() {
                page.to_path_buf()
            } else {
                dir.join(file)
            };
            if !path.is_file() {
                problems.push(format!("{name}: broken link or image {target}"));
                continue;
            }
            if let Some(fragment) = fragment.filter(|f| !f.is_empty()) {
                let target_text = std::fs::read_to_string(&path).unwrap_or_default();
                if !target_text.contains(&format!("id=\"{fragment}\"")) {
                    problems.push(format!(
                        "{name}: link {target}: no heading or id `{fragment}` there"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Whether a command runs a session that needs Redis (04 and later).
fn needs_redis(line: &str) -> bool {
    line.split_whitespace().any(|word| {
        word.strip_prefix("session")
            .and_then(|rest| rest.get(..2))
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| n >= 4)
    })
}

/// A redis-server for the book's commands, on a free port, stopped when dropped.
struct BookRedis {
    child: Child,
    url: String,
}

impl BookRedis {
    fn start() -> Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "no", "--daemonize", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .context("cannot start redis-server for the book's commands")?;
        let server = Self {
            child,
            url: format!("redis://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("redis-server did not start on port {port}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(server)
    }
}

impl Drop for BookRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a command the book shows, the way the check promises to.
fn run_shown_command(
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
            let output = capture(cargo(root).args(&args), redis_url, depth.timeout())?;
            if !in_full && !output.contains("Usage") {
                bail!("its --help printed no usage:\n{output}");
            }
            Ok(())
        }
        ["cargo", "bench", rest @ ..] if in_full => {
            shown("");
            capture(
                cargo(root).arg("bench").args(rest),
                redis_url,
                depth.timeout(),
            )
            .map(drop)
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
            let output = capture(cargo(root).args(&words[1..]), None, depth.timeout())?;
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
fn capture(command: &mut Command, redis_url: Option<&str>, timeout: Duration) -> Result<String> {
    if let Some(url) = redis_url {
        command.env("REDIS_URL", url);
    }
    let grouped = crate::testing::own_process_group();
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

/// Serves the book as an instructor would and fetches its first page once.
fn serve_once(root: &Path, mdbook: &Path) -> Result<()> {
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
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = server.0.try_wait()? {
            bail!("mdbook serve exited ({status})");
        }
        if let Ok(page) = fetch(port) {
            if page.starts_with("HTTP/1.1 200") && page.contains("<title>") {
                return Ok(());
            }
            bail!(
                "mdbook serve answered: {}",
                page.lines().next().unwrap_or_default()
            );
        }
        if Instant::now() > deadline {
            bail!("mdbook serve did not answer within 60 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn fetch(port: u16) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")?;
    let mut page = String::new();
    stream.read_to_string(&mut page)?;
    Ok(page)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn check(source: &str, directive: &str) -> Result<(), String> {
        let dir = std::env::temp_dir().join(format!("xtask-book-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("code.rs"), source).unwrap();
        check_include(&dir, directive)
    }

    #[test]
    fn includes_need_an_existing_non_empty_anchor() {
        let code = "// ANCHOR: good\nfn a() {}\n// ANCHOR_END: good\n// ANCHOR: empty\n\n// ANCHOR_END: empty\n";
        assert_eq!(check(code, "code.rs:good"), Ok(()));
        assert_eq!(check(code, "code.rs"), Ok(()));
        assert!(
            check(code, "code.rs:missing")
                .unwrap_err()
                .contains("no `ANCHOR: missing`")
        );
        assert!(
            check(code, "code.rs:empty")
                .unwrap_err()
                .contains("is empty")
        );
        assert!(
            check(code, "code.rs:2:3")
                .unwrap_err()
                .contains("not line numbers")
        );
        assert!(
            check(code, "gone.rs:good")
                .unwrap_err()
                .contains("cannot read")
        );
        let reversed = "// ANCHOR_END: x\nfn a() {}\n// ANCHOR: x\n";
        assert!(check(reversed, "code.rs:x").unwrap_err().contains("before"));
        let unclosed = "// ANCHOR: x\nfn a() {}\n";
        assert!(
            check(unclosed, "code.rs:x")
                .unwrap_err()
                .contains("no `ANCHOR_END: x`")
        );
    }

    #[test]
    fn escaped_includes_are_text() {
        let text = "a {{#include a.rs:x}} b \\{{#include b.rs:y}}";
        assert_eq!(includes(text), vec![(2, "a.rs:x")]);
    }

    fn block_problems(info: &str, body: &str, before: &str, doctested: bool) -> Vec<String> {
        let mut problems = Vec::new();
        check_code_block("ch.md:1", info, body, before, doctested, &mut problems);
        problems
    }

    #[test]
    fn rust_blocks_compile_or_say_why_not() {
        let include = "{{#include ../x.rs:a}}\n";
        assert!(block_problems("rust,ignore", include, "", false).is_empty());
        assert_eq!(block_problems("rust", include, "", true).len(), 1);
        assert!(block_problems("rust", "let x = 1;\n", "", true).is_empty());
        assert_eq!(block_problems("rust", "let x = 1;\n", "", false).len(), 1);
        assert_eq!(
            block_problems("rust,ignore", "let x = 1;\n", "text", true).len(),
            1
        );
        let reason = "Some text.\n<!-- ignore: needs a running Redis -->";
        assert!(block_problems("rust,ignore", "let x = 1;\n", reason, true).is_empty());
        assert_eq!(block_problems("", "x\n", "", true).len(), 1);
        assert_eq!(block_problems("sh", "ls\n", "", true).len(), 1);
        assert!(block_problems("text", "anything\n", "", false).is_empty());
    }

    #[test]
    fn links_must_stay_inside_and_exist() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let src = root.join("book/src");
        assert_eq!(check_link_target(root, &src, "https://example.org/x"), None);
        assert_eq!(check_link_target(root, &src, "#here"), None);
        assert_eq!(check_link_target(root, &src, "SUMMARY.md#x"), None);
        assert!(check_link_target(root, &src, "missing.md").is_some());
        assert!(check_link_target(root, &src, "../../../../etc/passwd").is_some());
    }
}
