//! The book's sources: the chapters `SUMMARY.md` lists, each walked for its includes, code
//! blocks, links and the commands it shows.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};

use super::code_blocks::check_code_block;
use super::commands::ShownCommand;
use super::includes::{check_include, includes};
use super::links::check_link_target;
use super::pattern::{Reading, check_pattern};

/// The chapter files `SUMMARY.md` links to, relative to `src`.
pub(super) fn chapters(src: &Path, problems: &mut Vec<String>) -> Result<Vec<PathBuf>> {
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
pub(super) fn doctested_chapters(root: &Path) -> Result<BTreeSet<PathBuf>> {
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

/// Checks one chapter's includes, code blocks, links and pattern, and collects its commands
/// with the output each shows; its reading.
pub(super) fn check_chapter(
    root: &Path,
    src: &Path,
    chapter: &Path,
    doctested: &BTreeSet<PathBuf>,
    commands: &mut Vec<ShownCommand>,
    problems: &mut Vec<String>,
) -> Result<Reading> {
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
                        let first = commands.len();
                        for (i, line) in body.lines().enumerate() {
                            if let Some(command) = line.strip_prefix("$ ") {
                                commands.push(ShownCommand {
                                    chapter: chapter.to_path_buf(),
                                    place: format!("{name}:{}", line_of(start) + 1 + i),
                                    line: command.trim().to_owned(),
                                    slow,
                                    expected: Vec::new(),
                                });
                            } else if commands.len() > first {
                                if let Some(shown) = commands.last_mut() {
                                    shown.expected.push(line.to_owned());
                                }
                            } else if !line.trim().is_empty() {
                                problems.push(format!(
                                    "{name}:{}: a console block must start with a `$ ` command",
                                    line_of(start)
                                ));
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
    Ok(check_pattern(src, chapter, &text, problems))
}
