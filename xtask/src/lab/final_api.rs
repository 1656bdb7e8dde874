//! Session 10's phase of the compose lab, in the same project after session 09's: session
//! 10's compose file over session 06's puts the API and the page in a container on the
//! Redis queue, and the workers on session 10's image. Then, for real: the API is ready
//! (it reaches Redis and a worker is live), the page is served with its Content-Security-
//! Policy, `api-test` uploads ten photos through the API and checks every result, and the
//! API lists the workers that ran them.

use std::time::Duration;

use anyhow::{Result, ensure};
use serde_json::Value;

use super::compose::{BUILD_TIME, COMMAND_TIME, DEMO_TIME, LabCommand, Project};
use super::http::{Fetched, Http};
use super::images;
use super::poll::{Answer, answer};
use super::shell;
use super::steps::Steps;

/// The crate folder the phase's compose commands run in.
pub const FOLDER: &str = "session10_final";

const fn typed(words: &'static [&'static str]) -> LabCommand {
    LabCommand {
        env: &[],
        words,
        folder: FOLDER,
    }
}

/// Builds session 10's image (the layers of sessions 06 and 09 come from the cache).
pub const BUILD: LabCommand = typed(over_session06!["build", "worker"]);
/// The API and the workers on session 10's image.
pub const UP: LabCommand = typed(over_session06!["up", "-d"]);
/// The API answers 200 once it reaches Redis and a worker is live.
pub const READY: LabCommand = typed(&["curl", "http://127.0.0.1:8080/api/ready"]);
/// The page.
pub const PAGE: LabCommand = typed(&["curl", "http://127.0.0.1:8080/"]);
/// Ten jobs through the API, every result downloaded and decoded.
pub const API_TEST: LabCommand = typed(over_session06!["run", "--rm", "api-test"]);
/// The workers the API sees.
pub const WORKERS: LabCommand = typed(&["curl", "http://127.0.0.1:8080/api/workers"]);
/// Stops and deletes everything of the project (session 09's services too, when its
/// phase ran: its file names them, and the API and the workers).
pub const DOWN: LabCommand = typed(over_session06!["down", "-v"]);

/// Every command of the phase, in order.
pub const FINAL_COMMANDS: [LabCommand; 7] = [BUILD, UP, READY, PAGE, API_TEST, WORKERS, DOWN];

/// Deadlines.
const READY_TIME: Duration = Duration::from_secs(120);

/// Runs the phase: what it found goes to `found`; `up` is set once its services may run.
pub fn run(
    project: &Project<'_>,
    steps: &mut Steps,
    found: &mut Vec<String>,
    up: &mut bool,
) -> Result<()> {
    let crate_dir = project.root.join(FOLDER);
    steps.run("final system images", || {
        images::ensure_some(
            project.engine,
            &project.root,
            &images::base_images(&crate_dir)?,
        )
    })?;
    steps.run("build the session 10 image", || {
        project.stream(BUILD, BUILD_TIME)
    })?;
    let http = Http::new();
    steps.run(
        "up: the API on Redis, workers on session 10's image",
        || {
            *up = true;
            project.stream(UP, COMMAND_TIME)?;
            http.poll(READY, READY_TIME, |status, body| {
                Ok(answer(status == 200, (), || {
                    format!("status {status}: {body}")
                }))
            })
        },
    )?;
    found.push(steps.run("the page, with its Content-Security-Policy", || page(&http))?);
    found.push(steps.run("api-test: ten jobs through the API", || {
        let out = shell::output(project.command(API_TEST, &[])?, DEMO_TIME)?;
        eprint!("{out}");
        ensure!(
            out.starts_with("10 of 10 results verified through the API at http://api:8080"),
            "api-test printed: {out}"
        );
        Ok(format!("final: {}", out.lines().next().unwrap_or_default()))
    })?);
    found.push(steps.run("the API lists the workers", || workers(&http))?);
    Ok(())
}

/// The page: HTML that loads its script from a file, served with a policy that forbids
/// inline script.
fn page(http: &Http) -> Result<String> {
    let Fetched {
        status,
        headers,
        body,
    } = http.fetch_whole(PAGE)?;
    ensure!(status == 200, "GET / answered {status}");
    ensure!(
        body.contains("<script src=\"/app.js\""),
        "the page does not load /app.js: {}",
        body.chars().take(300).collect::<String>()
    );
    let policy = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-security-policy"))
        .map(|(_, value)| value.as_str())
        .unwrap_or_default();
    ensure!(
        policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"),
        "the page's Content-Security-Policy allows inline script or is missing: {policy:?}"
    );
    Ok(format!(
        "final: the page is served ({} bytes) under `{policy}`",
        body.len()
    ))
}

/// The live workers the API lists (busy or idle): at least one. The registry keeps a
/// stopped worker's record a while, and the lab's Redis still holds those of the earlier
/// phases: they do not count.
fn workers(http: &Http) -> Result<String> {
    http.poll(WORKERS, READY_TIME, |status, body| {
        let listed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        let live = listed["workers"].as_array().map_or(0, |workers| {
            workers
                .iter()
                .filter(|w| matches!(w["state"].as_str(), Some("busy" | "idle")))
                .count()
        });
        Ok(match live {
            0 => Answer::NotYet(format!("status {status}, no live worker: {body}")),
            n => Answer::Done(format!("final: the API lists {n} live worker(s)")),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_phase_runs_in_session_10_with_both_compose_files() {
        for command in FINAL_COMMANDS {
            assert_eq!(command.folder, FOLDER);
            let line = command.to_string();
            match command.words {
                ["docker", "compose", ..] => assert!(
                    line.starts_with(
                        "docker compose -f ../session06_docker/compose.yaml -f compose.yaml "
                    ),
                    "{line}"
                ),
                ["curl", url] => assert!(url.starts_with("http://127.0.0.1:8080/"), "{line}"),
                _ => panic!("{line} is neither docker compose nor `curl URL`"),
            }
        }
        let all = super::super::compose::commands();
        assert!(all.contains(&API_TEST.to_string()));
    }

    #[test]
    fn its_image_is_built_not_pulled() {
        let crate_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(FOLDER);
        let names = images::base_images(&crate_dir).unwrap();
        assert!(
            !names.iter().any(|n| n.starts_with("session10-final")),
            "{names:?}"
        );
        assert!(names.iter().any(|n| n.starts_with("rust:")), "{names:?}");
    }
}
