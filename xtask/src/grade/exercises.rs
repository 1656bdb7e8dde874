//! The graded exercises of each session, as its `exercises.toml` lists them.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// A session crate that has graded exercises.
#[derive(Debug, Clone)]
pub struct Session {
    /// The session's number, 1 for `session01_image_basics`.
    pub number: u32,
    /// The package name, which is also its folder.
    pub package: String,
    /// Its folder.
    pub dir: PathBuf,
    /// Its exercises, from `exercises.toml`.
    pub exercises: Vec<Exercise>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    exercise: Vec<Exercise>,
}

/// One exercise, as `exercises.toml` describes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exercise {
    /// The prefix of its tests' names, `ex01_2`.
    pub id: String,
    /// What it is called in the book.
    pub title: String,
    /// What it is worth.
    pub points: u32,
    /// The file the student edits, relative to the crate: `src/exercises/<stem>.rs`.
    pub file: String,
    /// What it practises (`async`, `redis`, ...): the session's subject must be among them.
    pub practises: Vec<String>,
    /// The recorded shortcut, in a line, when one is known: `shortcuts/<stem>.rs` holds it,
    /// and `verify` expects one of the exercise's tests to fail on it.
    #[serde(default)]
    pub shortcut: Option<String>,
}

impl Exercise {
    /// The file's name, `<stem>.rs`, which the solution and the shortcut share.
    pub fn file_name(&self) -> &str {
        self.file.rsplit('/').next().unwrap_or(&self.file)
    }

    /// The reference solution, relative to the crate.
    pub fn solution(&self) -> String {
        format!("solutions/{}", self.file_name())
    }

    /// The recorded shortcut, relative to the crate.
    pub fn shortcut_file(&self) -> String {
        format!("shortcuts/{}", self.file_name())
    }

    /// Whether a test belongs to this exercise.
    pub fn owns(&self, test: &str) -> bool {
        test.strip_prefix(&self.id)
            .is_some_and(|rest| rest.starts_with('_'))
    }
}

/// Every session crate with an `exercises.toml`, in session order.
pub fn sessions(root: &Path) -> Result<Vec<Session>> {
    let mut sessions = Vec::new();
    for entry in std::fs::read_dir(root).context("cannot list the workspace")? {
        let dir = entry?.path();
        let manifest = dir.join("exercises.toml");
        let Some(package) = dir.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            continue;
        };
        let Some(number) = package
            .strip_prefix("session")
            .and_then(|rest| rest.get(..2))
            .and_then(|digits| digits.parse().ok())
        else {
            continue;
        };
        if !manifest.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&manifest)
            .with_context(|| format!("cannot read {}", manifest.display()))?;
        let Manifest { exercise } =
            toml::from_str(&text).with_context(|| format!("{} is invalid", manifest.display()))?;
        sessions.push(Session {
            number,
            package,
            dir,
            exercises: exercise,
        });
    }
    sessions.sort_by_key(|s| s.number);
    Ok(sessions)
}

/// The sessions `which` names: a number (`1`, `01`) or `all`.
pub fn select(root: &Path, which: &str) -> Result<Vec<Session>> {
    let all = sessions(root)?;
    if which.eq_ignore_ascii_case("all") {
        return Ok(all);
    }
    let number: u32 = which
        .trim()
        .parse()
        .with_context(|| format!("{which:?} is not a session number or `all`"))?;
    let available: Vec<String> = all.iter().map(|s| s.number.to_string()).collect();
    match all.into_iter().find(|s| s.number == number) {
        Some(session) => Ok(vec![session]),
        None => bail!(
            "session {number} has no graded exercises; sessions with exercises: {}",
            available.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::exercise;

    #[test]
    fn a_test_belongs_to_the_exercise_whose_id_prefixes_it() {
        assert!(exercise("ex01_1", 1).owns("ex01_1_sepia"));
        assert!(!exercise("ex01_1", 1).owns("ex01_10_other"));
        assert!(!exercise("ex01_1", 1).owns("ex01_1"));
    }
}
