//! The links and images of the book's sources: relative ones stay in the repository and
//! point at something.

use std::path::{Component, Path, PathBuf};

/// A relative link or image must point at a file under the book's source or the workspace.
pub(super) fn check_link_target(root: &Path, dir: &Path, target: &str) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
