//! `{{#include path:anchor}}`: the file must exist and the anchor hold code, since mdBook
//! only warns about the one and silently includes nothing for the other.

use std::path::Path;

/// Every `{{#include ...}}` and `{{#rustdoc_include ...}}` with its byte offset.
pub(super) fn includes(text: &str) -> Vec<(usize, &str)> {
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
pub(super) fn check_include(dir: &Path, directive: &str) -> Result<(), String> {
    resolve(dir, directive).map(drop)
}

/// The text `path` or `path:anchor` includes: the file, or the lines between its anchor's
/// markers without any marker line, as mdBook includes them.
pub(super) fn resolve(dir: &Path, directive: &str) -> Result<String, String> {
    let (file, selector) = match directive.split_once(':') {
        Some((file, selector)) => (file, Some(selector)),
        None => (directive, None),
    };
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("include {file}: cannot read it ({e})"))?;
    let Some(anchor) = selector else {
        return Ok(text);
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
            let content: Vec<&str> = lines[start + 1..*end]
                .iter()
                .filter(|line| !line.contains("ANCHOR:") && !line.contains("ANCHOR_END:"))
                .copied()
                .collect();
            if content.iter().any(|line| !line.trim().is_empty()) {
                Ok(content.join("\n") + "\n")
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

/// `text` with every include replaced by what it includes (nothing when it cannot be
/// resolved: the include check reports that).
pub(super) fn expand(dir: &Path, text: &str) -> String {
    let mut expanded = String::with_capacity(text.len());
    let mut done = 0;
    for (offset, directive) in includes(text) {
        // A malformed directive can overlap the next one: the include check reports it.
        if offset < done {
            continue;
        }
        let Some(end) = text[offset..].find("}}") else {
            continue;
        };
        expanded.push_str(&text[done..offset]);
        let included = resolve(dir, directive).unwrap_or_default();
        // An include alone on its line brings its own last newline.
        let alone = text[offset + end + 2..].starts_with('\n');
        expanded.push_str(if alone {
            included.strip_suffix('\n').unwrap_or(&included)
        } else {
            included.trim()
        });
        done = offset + end + 2;
    }
    expanded.push_str(&text[done..]);
    expanded
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
    fn includes_expand_to_their_anchor_without_markers() {
        let dir = std::env::temp_dir().join(format!("xtask-expand-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let code = "// ANCHOR: outer\nfn a() {\n    // ANCHOR: inner\n    b();\n    // ANCHOR_END: inner\n}\n// ANCHOR_END: outer\n";
        std::fs::write(dir.join("code.rs"), code).unwrap();
        let text =
            "```rust\n{{#include code.rs:outer}}\n```\nand {{#include code.rs:inner}} inline\n";
        assert_eq!(
            expand(&dir, text),
            "```rust\nfn a() {\n    b();\n}\n```\nand b(); inline\n"
        );
    }

    #[test]
    fn a_malformed_include_does_not_stop_the_expansion() {
        let text = "{{#include a.md} and {{#include b.md}} end";
        assert!(expand(Path::new("."), text).ends_with(" end"));
    }

    #[test]
    fn escaped_includes_are_text() {
        let text = "a {{#include a.rs:x}} b \\{{#include b.rs:y}}";
        assert_eq!(includes(text), vec![(2, "a.rs:x")]);
    }
}
