//! The JUnit XML report, for CI dashboards.

use anyhow::Result;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::exercises::Session;
use super::score::Score;

/// JUnit XML: one suite per session, one case per graded test, for CI dashboards.
pub fn junit_xml(graded: &[(Session, Vec<Score>)]) -> Result<String> {
    let mut report = Report::new("graded exercises");
    for (session, scores) in graded {
        let mut suite = TestSuite::new(session.package.as_str());
        for score in scores {
            let classname = format!("{} {}", score.exercise.id, score.exercise.title);
            if let Some(error) = &score.compile_error {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
                status
                    .set_message("does not compile")
                    .set_description(error.as_str());
                let mut case = TestCase::new(score.exercise.id.as_str(), status);
                case.set_classname(classname.as_str());
                suite.add_test_case(case);
                continue;
            }
            for test in &score.tests {
                let status = match &test.failure {
                    None => TestCaseStatus::success(),
                    Some(message) => {
                        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                        let first = message
                            .lines()
                            .find(|l| !l.trim().is_empty())
                            .unwrap_or("failed");
                        status.set_message(first).set_description(message.as_str());
                        status
                    }
                };
                let mut case = TestCase::new(test.name.as_str(), status);
                case.set_classname(classname.as_str());
                suite.add_test_case(case);
            }
        }
        report.add_test_suite(suite);
    }
    Ok(report.to_string()?)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::session;
    use super::super::run::SessionRun;
    use super::super::score::score;
    use super::*;

    #[test]
    fn code_that_does_not_compile_is_an_error_case() {
        let graded = vec![(
            session(),
            score(&session(), &SessionRun::DidNotCompile("error: oops".into())).0,
        )];
        let xml = junit_xml(&graded).unwrap();
        assert!(
            xml.contains("<testsuite name=\"session01_x\" tests=\"2\""),
            "{xml}"
        );
        assert!(xml.contains("<error message=\"does not compile\""), "{xml}");
    }
}
