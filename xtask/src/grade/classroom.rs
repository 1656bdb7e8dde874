//! The JSON report, in the shape of GitHub Classroom's autograding runners.

use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use super::exercises::Session;
use super::score::{Score, totals};

/// The report in the shape of GitHub Classroom's autograding runners: one entry per
/// exercise, which the autograding reporter action reads (base64-encoded) from a step output.
#[derive(Debug, Serialize)]
struct ClassroomReport {
    version: u32,
    status: &'static str,
    score: u32,
    max_score: u32,
    tests: Vec<ClassroomTest>,
}

#[derive(Debug, Serialize)]
struct ClassroomTest {
    name: String,
    status: &'static str,
    message: Option<String>,
    score: u32,
    max_score: u32,
    test_code: String,
    filename: String,
    line_no: u32,
}

/// The report of the sessions graded; `command` is how to grade them again.
pub fn classroom_json(
    root: &Path,
    graded: &[(Session, Vec<Score>)],
    command: &str,
) -> Result<String> {
    let mut tests = Vec::new();
    for (session, scores) in graded {
        for score in scores {
            let file = session.dir.join(&score.exercise.file);
            tests.push(ClassroomTest {
                name: format!("{} {}", score.exercise.id, score.exercise.title),
                status: match (score.passed(), &score.compile_error) {
                    (true, _) => "pass",
                    (false, Some(_)) => "error",
                    (false, None) => "fail",
                },
                message: score.reason(),
                score: score.points(),
                max_score: score.exercise.points,
                test_code: command.to_owned(),
                filename: file
                    .strip_prefix(root)
                    .unwrap_or(&file)
                    .to_string_lossy()
                    .replace('\\', "/"),
                line_no: 0,
            });
        }
    }
    let (score, max_score) = totals(graded.iter().flat_map(|(_, s)| s));
    let status = if tests.iter().any(|t| t.status == "error") {
        "error"
    } else if score == max_score {
        "pass"
    } else {
        "fail"
    };
    let report = ClassroomReport {
        version: 1,
        status,
        score,
        max_score,
        tests,
    };
    Ok(serde_json::to_string_pretty(&report)? + "\n")
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::session;
    use super::super::run::SessionRun;
    use super::super::score::score;
    use super::*;

    #[test]
    fn the_report_has_the_classroom_shape() {
        let root = Path::new("/repo");
        let graded = vec![(
            session(),
            score(&session(), &SessionRun::DidNotCompile("error: oops".into())).0,
        )];
        let json: serde_json::Value =
            serde_json::from_str(&classroom_json(root, &graded, "cargo xtask grade 1").unwrap())
                .unwrap();
        assert_eq!(json["status"], "error");
        assert_eq!(json["max_score"], 50);
        assert_eq!(json["score"], 0);
        let first = &json["tests"][0];
        assert_eq!(first["name"], "ex01_1 title of ex01_1");
        assert_eq!(first["status"], "error");
        assert_eq!(first["max_score"], 20);
        assert_eq!(first["filename"], "session01_x/src/exercises/ex01_1.rs");
        assert!(first["message"].as_str().unwrap().contains("error: oops"));
    }
}
