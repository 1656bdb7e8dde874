//! `cargo xtask class-report`: many students' reports merged into one CSV.
//!
//! Each student's grading writes a JSON report (GitHub Classroom's shape, see
//! `classroom.rs`). An instructor collects them in a folder, one per student as
//! `NAME.json`, or a folder per student (`NAME/all.json`, `NAME/session03.json`, or any
//! deeper layout, such as a downloaded artifact's `NAME/grade-report/all.json`), and gets
//! one row per student: a column per exercise with the points earned, then the total and
//! the maximum.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Report {
    tests: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    name: String,
    score: u32,
    max_score: u32,
}

/// One student's points per exercise id, and each exercise's maximum.
#[derive(Debug, Default)]
struct Student {
    points: BTreeMap<String, u32>,
}

/// The CSV of the reports found at `paths` (files, or folders searched for `*.json`).
pub fn class_report(paths: &[PathBuf]) -> Result<String> {
    // Each report with its student's name.
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            find_reports(path, &mut found)?;
            for file in found {
                let name = student_name(path, &file);
                files.push((name, file));
            }
        } else if path.is_file() {
            let stem = path.file_stem().unwrap_or_default().to_string_lossy();
            files.push((stem.into_owned(), path.clone()));
        } else {
            bail!(
                "{} is neither a report nor a folder of reports",
                path.display()
            );
        }
    }
    if files.is_empty() {
        bail!("no report (*.json) found in {paths:?}");
    }
    files.sort();
    let mut students: BTreeMap<String, Student> = BTreeMap::new();
    let mut maxima: BTreeMap<String, u32> = BTreeMap::new();
    for (name, file) in &files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let report: Report = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a grading report (GitHub Classroom JSON)",
                file.display()
            )
        })?;
        let student = students.entry(name.clone()).or_default();
        for entry in report.tests {
            let id = entry
                .name
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
            if let Some(max) = maxima.insert(id.clone(), entry.max_score)
                && max != entry.max_score
            {
                bail!(
                    "{}: exercise {id} is worth {} points there and {max} in another report: \
                     were they graded with different versions of the course?",
                    file.display(),
                    entry.max_score
                );
            }
            if student.points.insert(id.clone(), entry.score).is_some() {
                bail!(
                    "{}: {name}'s exercise {id} appears in two reports",
                    file.display()
                );
            }
        }
    }
    let mut ids: Vec<&String> = maxima.keys().collect();
    ids.sort_by_key(|id| exercise_order(id));
    let mut csv = String::from("student");
    for id in &ids {
        csv += &format!(",{id} ({})", maxima[*id]);
    }
    csv += ",total,max\n";
    let max: u32 = maxima.values().sum();
    for (name, student) in &students {
        csv += &quote(name);
        for id in &ids {
            match student.points.get(*id) {
                Some(points) => csv += &format!(",{points}"),
                None => csv += ",",
            }
        }
        let total: u32 = student.points.values().sum();
        csv += &format!(",{total},{max}\n");
    }
    Ok(csv)
}

fn find_reports(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            find_reports(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    Ok(())
}

/// Whose report `file`, found under the folder `dir`, is: the first folder below `dir`,
/// or for a report right in `dir`, its own name.
fn student_name(dir: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(dir).unwrap_or(file);
    let mut parts = relative.components();
    let first = parts
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default();
    if parts.next().is_some() {
        first
    } else {
        Path::new(&first)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or(first)
    }
}

/// Exercises in course order: `ex01_2` before `ex01_10`.
fn exercise_order(id: &str) -> (u32, u32, String) {
    let numbers = id.strip_prefix("ex").and_then(|rest| rest.split_once('_'));
    match numbers.and_then(|(s, e)| Some((s.parse().ok()?, e.parse().ok()?))) {
        Some((session, exercise)) => (session, exercise, id.to_owned()),
        None => (u32::MAX, u32::MAX, id.to_owned()),
    }
}

/// A CSV field, quoted when it needs to be, and never read as a formula by a spreadsheet.
fn quote(field: &str) -> String {
    let field = if field.starts_with(['=', '+', '-', '@']) {
        format!("'{field}")
    } else {
        field.to_owned()
    };
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(entries: &[(&str, u32, u32)]) -> String {
        let tests: Vec<serde_json::Value> = entries
            .iter()
            .map(|(name, score, max)| {
                serde_json::json!({"name": name, "status": "pass", "score": score, "max_score": max})
            })
            .collect();
        serde_json::json!({"version": 1, "status": "fail", "tests": tests}).to_string()
    }

    #[test]
    fn reports_merge_into_one_row_per_student() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("ana")).unwrap();
        std::fs::write(
            dir.path().join("ana/session01.json"),
            report(&[("ex01_1 Sepia", 20, 20), ("ex01_2 Vignette", 0, 25)]),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("ana/session03.json"),
            report(&[("ex03_1 Fan-out", 30, 30)]),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("li, wei.json"),
            report(&[("ex01_1 Sepia", 0, 20), ("ex01_10 Late", 5, 5)]),
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("=cmd/grade-report")).unwrap();
        std::fs::write(
            dir.path().join("=cmd/grade-report/all.json"),
            report(&[("ex01_2 Vignette", 25, 25)]),
        )
        .unwrap();
        let csv = class_report(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(
            csv,
            "student,ex01_1 (20),ex01_2 (25),ex01_10 (5),ex03_1 (30),total,max\n\
             '=cmd,,25,,,25,80\n\
             ana,20,0,,30,50,80\n\
             \"li, wei\",0,,5,,5,80\n"
        );
    }

    #[test]
    fn a_file_that_is_no_report_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bob.json");
        std::fs::write(&bad, "{\"not\": \"a report\"}").unwrap();
        let error = class_report(&[bad]).unwrap_err();
        assert!(
            format!("{error:#}").contains("bob.json is not a grading report"),
            "{error:#}"
        );
    }

    #[test]
    fn reports_of_different_versions_do_not_mix() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.json"), report(&[("ex01_1 S", 20, 20)])).unwrap();
        std::fs::write(dir.path().join("b.json"), report(&[("ex01_1 S", 5, 25)])).unwrap();
        let error = class_report(&[dir.path().to_path_buf()]).unwrap_err();
        assert!(
            format!("{error:#}").contains("different versions"),
            "{error:#}"
        );
    }
}
