//! The GitHub Classroom workflow, read back: it parses, and it has every step grading needs.

use yaml_rust2::{Yaml, YamlLoader};

/// Every way the workflow `text` falls short of grading a push: it must parse as YAML, run
/// on push under a job timeout, check out the submission and the pristine course, install
/// the toolchain, cache the build, run the grader on the submission with a command this
/// xtask accepts, and hand the report to Classroom's reporter.
pub fn workflow_problems(text: &str) -> Vec<String> {
    let docs = match YamlLoader::load_from_str(text) {
        Ok(docs) => docs,
        Err(error) => return vec![format!("it is not valid YAML: {error}")],
    };
    let Some(doc) = docs.first() else {
        return vec!["it is empty".to_owned()];
    };
    let mut problems = Vec::new();
    let on_push = match &doc["on"] {
        Yaml::String(event) => event == "push",
        Yaml::Array(events) => events.iter().any(|e| e.as_str() == Some("push")),
        Yaml::Hash(events) => events.contains_key(&Yaml::String("push".to_owned())),
        _ => false,
    };
    if !on_push {
        problems.push("it does not run on push".to_owned());
    }
    let Some(jobs) = doc["jobs"].as_hash() else {
        return vec!["it has no jobs".to_owned()];
    };
    if jobs.len() != 1 {
        problems.push(format!("it has {} jobs, not one", jobs.len()));
    }
    let Some((_, job)) = jobs.iter().next() else {
        return problems;
    };
    match job["timeout-minutes"].as_i64() {
        Some(minutes) if (1..=60).contains(&minutes) => {}
        other => problems.push(format!(
            "its job needs a timeout-minutes of at most 60, not {other:?}"
        )),
    }
    let steps = job["steps"].as_vec().cloned().unwrap_or_default();
    // An empty repository input makes actions/checkout take the student's own repository.
    let guarded = steps.iter().any(|s| {
        s["if"]
            .as_str()
            .is_some_and(|c| c.replace(' ', "").contains("vars.COURSE_REPOSITORY==''"))
    });
    if !guarded {
        problems.push(
            "no step stops the job when COURSE_REPOSITORY is unset (the pristine checkout would be the student's own repository)"
                .to_owned(),
        );
    }
    let uses = |step: &Yaml| step["uses"].as_str().unwrap_or_default().to_owned();
    let checkouts: Vec<&Yaml> = steps
        .iter()
        .filter(|s| uses(s).starts_with("actions/checkout@"))
        .collect();
    let paths: Vec<&str> = checkouts
        .iter()
        .filter_map(|s| s["with"]["path"].as_str())
        .collect();
    if paths != ["submission", "pristine"] {
        problems.push(format!(
            "it must check out the submission, then the pristine course, into their own folders; it checks out {paths:?}"
        ));
    }
    for (what, needle) in [
        ("install the Rust toolchain", "rust-toolchain"),
        ("cache the build", "rust-cache"),
    ] {
        if !steps.iter().any(|s| uses(s).contains(needle)) {
            problems.push(format!("it does not {what}"));
        }
    }
    let grade = steps.iter().find(|s| {
        s["run"]
            .as_str()
            .is_some_and(|run| run.contains("cargo xtask grade"))
    });
    let Some(grade) = grade else {
        problems.push("no step runs `cargo xtask grade`".to_owned());
        return problems;
    };
    if grade["working-directory"].as_str() != Some("pristine") {
        problems.push("the grader must run in the pristine course".to_owned());
    }
    let run = grade["run"].as_str().unwrap_or_default();
    if let Some(line) = run.lines().find(|l| l.contains("cargo xtask grade")) {
        let command = line.trim().split("||").next().unwrap_or_default();
        let words: Vec<&str> = command
            .split_whitespace()
            .skip(1)
            .map(|w| if w.contains("$SESSIONS") { "all" } else { w })
            .collect();
        if !words.contains(&"--submission") {
            problems.push("the grader must be given the submission (--submission)".to_owned());
        }
        if let Err(error) = crate::parse_task(&words) {
            problems.push(format!("{error}"));
        }
    }
    let Some(id) = grade["id"].as_str() else {
        problems.push("the grading step has no id for the reporter to read".to_owned());
        return problems;
    };
    let reporter = steps
        .iter()
        .find(|s| uses(s).contains("autograding-grading-reporter"));
    match reporter {
        None => problems.push("no step reports to GitHub Classroom".to_owned()),
        Some(reporter) => {
            let variable = format!("{}_RESULTS", id.to_uppercase());
            let expected = format!("${{{{ steps.{id}.outputs.result }}}}");
            if reporter["env"][variable.as_str()].as_str() != Some(expected.as_str()) {
                problems.push(format!("the reporter needs {variable}: {expected}"));
            }
            if reporter["with"]["runners"].as_str() != Some(id) {
                problems.push(format!("the reporter's runners must be {id}"));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grade::template::workflow_path;

    #[test]
    fn the_classroom_workflow_has_every_step() {
        let text = std::fs::read_to_string(workflow_path(&crate::workspace_root())).unwrap();
        assert_eq!(workflow_problems(&text), Vec::<String>::new());
    }

    #[test]
    fn a_workflow_that_grades_the_clone_itself_is_refused() {
        let text = "on: [push]\njobs:\n  grade:\n    runs-on: ubuntu-24.04\n    steps:\n      - uses: actions/checkout@v4\n      - run: cargo xtask grade all\n";
        let problems = workflow_problems(text);
        assert!(
            problems.iter().any(|p| p.contains("timeout-minutes")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("pristine")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("--submission")),
            "{problems:?}"
        );
        assert!(!problems.iter().any(|p| p.contains("push")), "{problems:?}");
        let broken = workflow_problems("jobs: [unclosed");
        assert!(broken[0].starts_with("it is not valid YAML"), "{broken:?}");
    }
}
