//! `cargo xtask student-template OUT`: the repository students receive.
//!
//! It is this repository without what only the course's authors and instructors need: no
//! reference solutions or recorded shortcuts, no features that switch them in, and no
//! instructors' part of the book (it holds the self-check answers). The stubs stay as they
//! are, and the GitHub Classroom workflow goes where GitHub looks for it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::files::{course_files, write_if_changed};

/// Where the Classroom workflow lives here, and where the template puts it.
pub const WORKFLOW: &str = "classroom/autograding.yml";
pub const WORKFLOW_IN_TEMPLATE: &str = ".github/workflows/classroom.yml";

/// The Classroom workflow of the copy at `root`: the course's, or the template's.
#[cfg(test)]
pub fn workflow_path(root: &Path) -> PathBuf {
    let course = root.join(WORKFLOW);
    if course.is_file() {
        course
    } else {
        root.join(WORKFLOW_IN_TEMPLATE)
    }
}

/// Writes the student template of the course at `root` into `out`, which must not exist or
/// be empty. Returns how many files it wrote.
pub fn student_template(root: &Path, out: &Path) -> Result<usize> {
    if out.exists()
        && std::fs::read_dir(out)
            .with_context(|| format!("cannot list {}", out.display()))?
            .next()
            .is_some()
    {
        bail!(
            "{} is not empty: the template goes into a new folder",
            out.display()
        );
    }
    let files = template_files(root)?;
    for (file, bytes) in &files {
        write_if_changed(&out.join(file), bytes)?;
    }
    Ok(files.len())
}

/// The files of the student template of the course at `root`: where each goes, and what
/// it holds.
pub fn template_files(root: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut files = Vec::new();
    for file in course_files(root)? {
        let Some(name) = file.to_str() else {
            bail!("{} is not UTF-8", file.display());
        };
        if !kept(name) {
            continue;
        }
        let bytes = std::fs::read(root.join(&file))
            .with_context(|| format!("cannot read {}", file.display()))?;
        let destination = if name == WORKFLOW {
            PathBuf::from(WORKFLOW_IN_TEMPLATE)
        } else {
            file.clone()
        };
        let bytes = match String::from_utf8(bytes) {
            Ok(text) => transform(name, &text).into_bytes(),
            Err(binary) => binary.into_bytes(),
        };
        files.push((destination, bytes));
    }
    Ok(files)
}

/// What the template's README says first.
const TEMPLATE_NOTE: &str = "> **This is the students' copy of the course.** It has every session, the book, and the \
exercises' stubs and graded tests, but not the reference solutions, the recorded shortcuts or \
the instructors' guide. Write your answers in each session's `src/exercises/` and grade them \
with `cargo xtask grade N`. The instructors' commands below need the full course.\n";

/// Whether a file of the course goes into the template.
fn kept(name: &str) -> bool {
    let mut parts = name.split('/');
    let first = parts.next().unwrap_or_default();
    let second = parts.next().unwrap_or_default();
    let session_private =
        first.starts_with("session") && matches!(second, "solutions" | "shortcuts");
    let instructors =
        name == "book/src/instructors.md" || name.starts_with("book/src/instructors/");
    !session_private && !instructors
}

/// A kept file's text as the template holds it.
fn transform(name: &str, text: &str) -> String {
    if name == "README.md" {
        format!("{TEMPLATE_NOTE}\n{text}")
    } else if name.starts_with("session") && name.ends_with("/Cargo.toml") {
        strip_features(text)
    } else if name.starts_with("session") && name.ends_with(".rs") {
        strip_feature_lines(text)
    } else if name.starts_with("book/src/") && name.ends_with(".md") {
        unlink_instructors(text)
    } else {
        text.to_owned()
    }
}

/// Whether a line switches the solutions or the shortcuts in.
fn mentions_private_feature(line: &str) -> bool {
    line.contains("feature = \"solutions\"") || line.contains("feature = \"shortcuts\"")
}

/// A session's source without the attributes that switch the solutions or shortcuts in,
/// whether rustfmt left an attribute on one line or spread it over several.
fn strip_feature_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let mut item = vec![line];
        if line.trim_start().starts_with("#[") {
            let mut depth = bracket_depth(line);
            while depth > 0 {
                let Some(next) = lines.next() else { break };
                depth += bracket_depth(next);
                item.push(next);
            }
        }
        if !item.iter().any(|l| mentions_private_feature(l)) {
            for l in item {
                out.push_str(l);
                out.push('\n');
            }
        }
    }
    if !text.ends_with('\n') {
        out.pop();
    }
    out
}

/// How many more brackets a line opens than it closes.
fn bracket_depth(line: &str) -> i32 {
    line.chars()
        .map(|c| match c {
            '[' | '(' => 1,
            ']' | ')' => -1,
            _ => 0,
        })
        .sum()
}

/// A session's `Cargo.toml` without the `solutions` and `shortcuts` features and the comment
/// lines right above them.
fn strip_features(text: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for line in text.lines() {
        let feature = line.trim_start();
        if feature.starts_with("solutions = ") || feature.starts_with("shortcuts = ") {
            while kept.last().is_some_and(|l| l.trim_start().starts_with('#')) {
                kept.pop();
            }
            continue;
        }
        kept.push(line);
    }
    let mut out = kept.join("\n");
    if text.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// A page of the book with its links into the instructors' part turned into plain text,
/// and `SUMMARY.md` without that part.
fn unlink_instructors(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim() == "# For instructors" {
            // The part's heading and its list, up to the next part or the end.
            while lines.peek().is_some_and(|l| !l.starts_with("# ")) {
                lines.next();
            }
            continue;
        }
        let mut rest = line;
        while let Some(start) = rest.find("](instructors") {
            let Some(open) = rest[..start].rfind('[') else {
                break;
            };
            let Some(close) = rest[start..].find(')') else {
                break;
            };
            out.push_str(&rest[..open]);
            out.push_str(&rest[open + 1..start]);
            rest = &rest[start + close + 1..];
        }
        out.push_str(rest);
        out.push('\n');
    }
    if !text.ends_with('\n') {
        out.pop();
    }
    out
}

/// Problems with a generated template: anything of the solutions or shortcuts left in it,
/// or a workflow that is not where GitHub Classroom looks.
pub fn check_template(out: &Path) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for file in course_files(out)? {
        let name = file.to_string_lossy().replace('\\', "/");
        if !kept(&name) {
            problems.push(format!("{name} is in the template"));
        }
        if name.starts_with("session") && (name.ends_with(".rs") || name.ends_with(".toml")) {
            let text = std::fs::read_to_string(out.join(&file)).unwrap_or_default();
            if text.lines().any(mentions_private_feature)
                || text.contains("../solutions/")
                || text.contains("../shortcuts/")
                || text.lines().any(|l| {
                    let l = l.trim_start();
                    l.starts_with("solutions = ") || l.starts_with("shortcuts = ")
                })
            {
                problems.push(format!("{name} still switches solutions or shortcuts in"));
            }
        }
    }
    if !out.join(WORKFLOW_IN_TEMPLATE).is_file() {
        problems.push(format!("{WORKFLOW_IN_TEMPLATE} is missing"));
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solutions_shortcuts_and_the_instructors_part_stay_out() {
        assert!(!kept("session03_workers/solutions/fan_out.rs"));
        assert!(!kept("session03_workers/shortcuts/fan_out.rs"));
        assert!(!kept("book/src/instructors/session03.md"));
        assert!(!kept("book/src/instructors.md"));
        assert!(kept("session03_workers/src/exercises/fan_out.rs"));
        assert!(kept("session03_workers/tests/exercises.rs"));
        assert!(kept("book/src/session03-exercises.md"));
    }

    #[test]
    fn the_features_and_their_comments_go() {
        let manifest = "[features]\n# Swaps the solutions in.\nsolutions = []\n# The shortcuts,\n# recorded.\nshortcuts = [\"solutions\"]\n# The contract kit.\ncontract = []\n";
        assert_eq!(
            strip_features(manifest),
            "[features]\n# The contract kit.\ncontract = []\n"
        );
    }

    #[test]
    fn the_lines_that_switch_files_in_go() {
        let module = "#[cfg_attr(feature = \"solutions\", path = \"../../solutions/a.rs\")]\n#[cfg_attr(feature = \"shortcuts\", path = \"../../shortcuts/a.rs\")]\nmod a;\npub use a::f;\n";
        assert_eq!(strip_feature_lines(module), "mod a;\npub use a::f;\n");
    }

    #[test]
    fn attributes_that_rustfmt_spread_over_lines_go_whole() {
        let module = "#[cfg_attr(\n    all(feature = \"solutions\", not(feature = \"shortcuts\")),\n    path = \"../../solutions/a.rs\"\n)]\n#[derive(Debug)]\nstruct S;\n";
        assert_eq!(strip_feature_lines(module), "#[derive(Debug)]\nstruct S;\n");
    }

    #[test]
    fn links_into_the_instructors_part_become_text() {
        let page = "Read [Teaching](instructors.md) and [the plan](instructors/session01.md#plan), or [chapter 1](session01.md).\n";
        assert_eq!(
            unlink_instructors(page),
            "Read Teaching and the plan, or [chapter 1](session01.md).\n"
        );
        let summary = "- [Glossary](glossary.md)\n\n# For instructors\n\n- [Teaching](instructors.md)\n  - [Setup](instructors/setup.md)\n";
        assert_eq!(unlink_instructors(summary), "- [Glossary](glossary.md)\n\n");
    }
}
