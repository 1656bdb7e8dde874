//! The files of a copy of the course, and copying them without touching what is unchanged.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Folders a copy never takes: build output, version control, the built book.
const NEVER: &[&str] = &["target", ".git", "book/book", "book/src/figures", "output"];

/// Every file of the copy at `root`, relative to it: git's tracked files in a checkout,
/// otherwise every file outside build output.
pub fn course_files(root: &Path) -> Result<Vec<PathBuf>> {
    if root.join(".git").exists() {
        let listed = Command::new("git")
            .args(["ls-files", "-z"])
            .current_dir(root)
            .output()
            .context("cannot run git ls-files")?;
        if !listed.status.success() {
            bail!(
                "git ls-files failed in {}: {}",
                root.display(),
                String::from_utf8_lossy(&listed.stderr).trim()
            );
        }
        return Ok(String::from_utf8_lossy(&listed.stdout)
            .split('\0')
            .filter(|name| !name.is_empty())
            .map(PathBuf::from)
            // A tracked file deleted in the work tree is not part of this copy.
            .filter(|name| root.join(name).is_file())
            .collect());
    }
    let mut files = Vec::new();
    walk(root, Path::new(""), &mut files)?;
    files.sort();
    Ok(files)
}

fn walk(root: &Path, relative: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let dir = root.join(relative);
    for entry in
        std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?
    {
        let entry = entry?;
        let path = relative.join(entry.file_name());
        if NEVER.iter().any(|never| path == Path::new(never)) {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(root, &path, files)?;
        } else if kind.is_file() {
            files.push(path);
        }
    }
    Ok(())
}

/// Writes `bytes` to `path` unless it already holds them, so cargo sees unchanged files as
/// unchanged and rebuilds only what differs. Returns whether it wrote.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(false);
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(true)
}

/// Removes every file under `dir` that `keep` does not list (relative paths), skipping the
/// folders a copy never takes.
pub fn remove_others(dir: &Path, keep: &[PathBuf]) -> Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    let mut present = Vec::new();
    walk(dir, Path::new(""), &mut present)?;
    for file in present {
        if !keep.contains(&file) {
            let path = dir.join(&file);
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_files_are_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b.txt");
        assert!(write_if_changed(&path, b"one").unwrap());
        assert!(!write_if_changed(&path, b"one").unwrap());
        assert!(write_if_changed(&path, b"two").unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
    }

    #[test]
    fn a_copy_without_git_skips_build_output() {
        let dir = tempfile::tempdir().unwrap();
        for file in [
            "Cargo.toml",
            "target/debug/x",
            "book/book/index.html",
            "src/lib.rs",
        ] {
            write_if_changed(&dir.path().join(file), b"x").unwrap();
        }
        let files = course_files(dir.path()).unwrap();
        assert_eq!(
            files,
            vec![PathBuf::from("Cargo.toml"), PathBuf::from("src/lib.rs")]
        );
        remove_others(dir.path(), &[PathBuf::from("Cargo.toml")]).unwrap();
        assert!(!dir.path().join("src/lib.rs").exists());
        assert!(dir.path().join("target/debug/x").exists());
    }
}
