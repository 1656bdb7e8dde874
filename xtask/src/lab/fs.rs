//! Removing the lab's big folders (debootstrap trees, an engine's data root) safely: what
//! is still mounted under them is unmounted first, so deleting never reaches through a
//! mount into the host's `/proc`, `/dev` or a container's layers.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::shell;

/// Mount points at or under `dir`, deepest first.
fn mounts_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let table = std::fs::read_to_string("/proc/self/mountinfo")
        .context("cannot read /proc/self/mountinfo")?;
    let mut found: Vec<PathBuf> = table
        .lines()
        // The fifth field is the mount point, with spaces and the like as octal escapes.
        .filter_map(|line| line.split(' ').nth(4))
        .map(|point| PathBuf::from(unescape(point)))
        .filter(|point| point.starts_with(dir))
        .collect();
    found.sort_by_key(|point| std::cmp::Reverse(point.components().count()));
    found.dedup();
    Ok(found)
}

/// Undoes mountinfo's `\040`-style escapes.
fn unescape(field: &str) -> String {
    let mut out = String::new();
    let mut rest = field;
    while let Some(at) = rest.find('\\') {
        out += &rest[..at];
        let code = rest.get(at + 1..at + 4).unwrap_or("");
        match u8::from_str_radix(code, 8) {
            Ok(byte) if code.len() == 3 => {
                out.push(char::from(byte));
                rest = &rest[at + 4..];
            }
            _ => {
                out.push('\\');
                rest = &rest[at + 1..];
            }
        }
    }
    out + rest
}

/// Deletes `dir` and everything in it, after unmounting what is mounted under it; refuses
/// when something stays mounted.
pub fn remove_tree(dir: &Path) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    let dir = dir
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", dir.display()))?;
    for point in mounts_under(&dir)? {
        let mut umount = Command::new("umount");
        // Lazy: a busy mount is detached now and released when its last user goes.
        umount.arg("--lazy").arg(&point);
        shell::output(umount, Duration::from_secs(60))?;
    }
    let left = mounts_under(&dir)?;
    if !left.is_empty() {
        bail!(
            "{} still has mounts under it ({}); not deleting it",
            dir.display(),
            left.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    std::fs::remove_dir_all(&dir).with_context(|| format!("cannot delete {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes_are_undone() {
        assert_eq!(unescape(r"/tmp/a\040b"), "/tmp/a b");
        assert_eq!(unescape(r"/tmp/back\134slash"), r"/tmp/back\slash");
        assert_eq!(unescape(r"/tmp/odd\4"), r"/tmp/odd\4");
    }
}
