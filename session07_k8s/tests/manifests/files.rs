//! The manifest files themselves, as text: every one under the crate's `k8s/`, their
//! checkov skips, and the anchors the chapter includes from them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::render::k8s_dir;

/// Every manifest file under the crate's `k8s/`, in order.
pub fn manifest_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()))
            .map(|entry| entry.expect("a directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, files);
            } else if path.extension().is_some_and(|ext| ext == "yaml") {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&k8s_dir(), &mut files);
    files
}

/// Every `checkov.io/skip` annotation names a Kubernetes check and says, in eight words
/// or more, why it does not apply; and there is at least one (a misspelt annotation is
/// not a skip).
pub fn assert_every_skip_gives_its_reason() {
    let mut skips = 0;
    for file in manifest_files() {
        let text = std::fs::read_to_string(&file).expect("readable");
        for line in text.lines().filter(|line| line.contains("checkov.io/skip")) {
            skips += 1;
            let (_, value) = line.split_once(": ").expect("an annotation");
            let (check, reason) = value.split_once('=').expect("CKV_K8S_N=reason");
            assert!(
                check.starts_with("CKV_K8S_") || check.starts_with("CKV2_K8S_"),
                "{}: {line}",
                file.display()
            );
            assert!(
                reason.split_whitespace().count() >= 8,
                "{}: say why the check does not apply: {line}",
                file.display()
            );
        }
    }
    assert!(
        skips > 0,
        "no skip found: is the annotation spelled checkov.io/skipN?"
    );
}

/// Every `# ANCHOR:` is closed within `max_lines` and named once, and each of `anchors`
/// (those the chapter includes) is there.
pub fn assert_anchors_are_closed_and_short(anchors: &[&str], max_lines: usize) {
    let mut found = BTreeSet::new();
    for file in manifest_files() {
        let text = std::fs::read_to_string(&file).expect("readable");
        let lines: Vec<&str> = text.lines().collect();
        for (start, line) in lines.iter().enumerate() {
            let Some(name) = line.trim().strip_prefix("# ANCHOR: ") else {
                continue;
            };
            let end = lines[start..]
                .iter()
                .position(|line| line.trim() == format!("# ANCHOR_END: {name}"))
                .unwrap_or_else(|| panic!("{}: {name} is never closed", file.display()));
            assert!(
                end <= max_lines,
                "{}: {name} is {end} lines long",
                file.display()
            );
            assert!(found.insert(name.to_owned()), "{name} twice");
        }
    }
    for name in anchors {
        assert!(found.contains(*name), "no anchor {name}");
    }
}
