//! Scores: an exercise earns its points when every one of its tests passes.

use super::exercises::{Exercise, Session};
use super::run::{SessionRun, TestRun};

/// One exercise's score.
#[derive(Debug, Clone)]
pub struct Score {
    /// The exercise.
    pub exercise: Exercise,
    /// Its tests, with their outcomes.
    pub tests: Vec<TestRun>,
    /// Set when the code did not compile: the compiler's errors.
    pub compile_error: Option<String>,
}

impl Score {
    /// Whether every one of its tests passed.
    pub fn passed(&self) -> bool {
        self.compile_error.is_none()
            && !self.tests.is_empty()
            && self.tests.iter().all(|t| t.failure.is_none())
    }

    /// The points it earned: all of the exercise's, or none.
    pub fn points(&self) -> u32 {
        if self.passed() {
            self.exercise.points
        } else {
            0
        }
    }

    /// Why it earned nothing, in a few lines.
    pub fn reason(&self) -> Option<String> {
        if let Some(error) = &self.compile_error {
            return Some(format!("does not compile:\n{error}"));
        }
        if self.tests.is_empty() {
            return Some("no graded test belongs to this exercise".to_owned());
        }
        let failed: Vec<&TestRun> = self.tests.iter().filter(|t| t.failure.is_some()).collect();
        let first = failed.first()?;
        let mut reason = format!(
            "{} of {} tests fail; the first, {}:\n{}",
            failed.len(),
            self.tests.len(),
            first.name,
            first.failure.as_deref().unwrap_or_default()
        );
        if failed.len() > 1 {
            let others: Vec<&str> = failed[1..].iter().map(|t| t.name.as_str()).collect();
            reason += &format!("\nalso failing: {}", others.join(", "));
        }
        Some(reason)
    }
}

/// Each exercise of a session with its tests, plus the tests no exercise claims.
pub fn score(session: &Session, run: &SessionRun) -> (Vec<Score>, Vec<String>) {
    let scores = session
        .exercises
        .iter()
        .map(|exercise| match run {
            SessionRun::DidNotCompile(error) => Score {
                exercise: exercise.clone(),
                tests: Vec::new(),
                compile_error: Some(error.clone()),
            },
            SessionRun::Ran(tests) => Score {
                exercise: exercise.clone(),
                tests: tests
                    .iter()
                    .filter(|t| exercise.owns(&t.name))
                    .cloned()
                    .collect(),
                compile_error: None,
            },
        })
        .collect();
    let orphans = match run {
        SessionRun::DidNotCompile(_) => Vec::new(),
        SessionRun::Ran(tests) => tests
            .iter()
            .filter(|t| !session.exercises.iter().any(|e| e.owns(&t.name)))
            .map(|t| t.name.clone())
            .collect(),
    };
    (scores, orphans)
}

/// The points earned and the points possible.
pub fn totals<'a>(scores: impl Iterator<Item = &'a Score>) -> (u32, u32) {
    scores.fold((0, 0), |(earned, possible), s| {
        (earned + s.points(), possible + s.exercise.points)
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::session;
    use super::*;

    #[test]
    fn an_exercise_scores_only_when_all_its_tests_pass() {
        let run = SessionRun::Ran(vec![
            TestRun {
                name: "ex01_1_a".into(),
                failure: None,
            },
            TestRun {
                name: "ex01_2_a".into(),
                failure: None,
            },
            TestRun {
                name: "ex01_2_b".into(),
                failure: Some("boom".into()),
            },
            TestRun {
                name: "stray".into(),
                failure: None,
            },
        ]);
        let (scores, orphans) = score(&session(), &run);
        assert_eq!(orphans, vec!["stray".to_owned()]);
        assert_eq!(
            scores.iter().map(Score::points).collect::<Vec<_>>(),
            vec![20, 0]
        );
        let reason = scores[1].reason().unwrap();
        assert!(
            reason.starts_with("1 of 2 tests fail; the first, ex01_2_b:\nboom"),
            "{reason}"
        );
    }
}
