//! The stress Job (`k8s/jobs/stress.yaml`) against the binary its image runs: its
//! arguments are `submit`'s flags, every variable it sets is one `submit` reads, from a
//! ConfigMap or Secret key that exists; its pods may reach Redis; its photo is in the
//! image. And the streams its tasks wait in, for KEDA's triggers.

use std::path::Path;

use clap::{Args, Command, FromArgMatches};
use session02_pipelines::PipelineSpec;
use session03_workers::{BlobKey, Task};
use session04_redis::Keys;
use session04_redis::queue::class_of;
use session05_distributed::submit::TiledSubmitArgs;
use yaml_rust2::Yaml;

use super::reading::{admitted, redis_pod};
use super::render::Objects;
use super::selector::matches;

/// The name of the Job.
pub const JOB: &str = "stress";

/// Where session 07's image keeps the workspace's files (its Dockerfile's `WORKDIR`).
const IMAGE_ROOT: &str = "/app/";

/// `submit`'s flags, as the image's binary has them (session 07's `submit` is session 05's).
fn submit() -> Command {
    TiledSubmitArgs::augment_args(Command::new("submit"))
}

/// The Job's container.
fn container(objects: &Objects) -> &Yaml {
    &objects
        .find("Job", JOB)
        .unwrap_or_else(|| panic!("no Job {JOB}"))["spec"]["template"]["spec"]["containers"][0]
}

/// The Job's arguments, parsed as `submit` parses them (no environment variable read).
pub fn parsed(objects: &Objects) -> Result<TiledSubmitArgs, String> {
    let args: Vec<&str> = container(objects)["args"]
        .as_vec()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    if args.first() != Some(&"submit") {
        return Err(format!("runs {args:?}, not `submit`"));
    }
    let matches = submit()
        .mut_args(|arg| arg.env(None::<&str>))
        .try_get_matches_from(&args)
        .map_err(|error| format!("`submit` refuses its arguments: {error}"))?;
    TiledSubmitArgs::from_arg_matches(&matches).map_err(|error| error.to_string())
}

/// The stream each task of the Job waits in: its pipeline's capability class, under the
/// queue's namespace.
pub fn streams(objects: &Objects, namespace: &str) -> Vec<String> {
    let args = parsed(objects).unwrap_or_else(|error| panic!("Job {JOB}: {error}"));
    let spec = PipelineSpec::parse_any(&args.submit.pipeline)
        .unwrap_or_else(|error| panic!("Job {JOB}: its pipeline: {error}"));
    let keys = |key: &str| BlobKey::new(key).expect("a valid key");
    let task = Task::new(spec, keys("inputs/photo.png"), keys("results/photo.png"));
    vec![Keys::new(namespace).stream(&class_of(&task))]
}

/// The problems of the Job, among `objects` (session 07's base and the NetworkPolicies
/// that come with it); `workspace` is where the image's files come from.
pub fn problems(objects: &Objects, workspace: &Path) -> Vec<String> {
    let at = format!("Job {JOB}");
    let mut problems = Vec::new();
    let args = match parsed(objects) {
        Ok(args) => args,
        Err(problem) => return vec![format!("{at}: {problem}")],
    };
    if let Err(error) = PipelineSpec::parse_any(&args.submit.pipeline).and_then(|s| s.build()) {
        problems.push(format!("{at}: its pipeline does not build: {error}"));
    }
    for input in &args.submit.inputs {
        let file = input
            .to_str()
            .and_then(|path| path.strip_prefix(IMAGE_ROOT))
            .map(|path| workspace.join(path));
        if !file.is_some_and(|file| file.is_file()) {
            problems.push(format!(
                "{at}: {} is not a file the image copies from the workspace",
                input.display()
            ));
        }
    }
    let reads: Vec<String> = submit()
        .get_arguments()
        .filter_map(|arg| arg.get_env()?.to_str().map(str::to_owned))
        .collect();
    for variable in container(objects)["env"].as_vec().into_iter().flatten() {
        let name = variable["name"].as_str().unwrap_or("?");
        if !reads.iter().any(|read| read == name) {
            problems.push(format!("{at}: sets {name}, which `submit` does not read"));
        }
        for (reference, kind) in [("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")] {
            let source = &variable["valueFrom"][reference];
            if source.is_badvalue() {
                continue;
            }
            let (from, key) = (
                source["name"].as_str().unwrap_or("?"),
                source["key"].as_str().unwrap_or("?"),
            );
            let found = objects.find(kind, from).is_some_and(|object| {
                let data = &object["data"];
                !data[key].is_badvalue()
            });
            if !found {
                problems.push(format!(
                    "{at}: {name} comes from key {key} of {kind} {from}, which has no such key"
                ));
            }
        }
    }
    if !reaches_redis(objects) {
        problems.push(format!(
            "{at}: no NetworkPolicy lets its pods reach Redis: every `submit` would time out"
        ));
    }
    problems
}

/// Whether a NetworkPolicy on Redis's pods lets in the Job's pods (in their namespace).
fn reaches_redis(objects: &Objects) -> bool {
    let job = objects.find("Job", JOB).expect("the Job");
    let labels = &job["spec"]["template"]["metadata"]["labels"];
    let Some((redis, port)) = redis_pod(objects) else {
        return false;
    };
    admitted(objects.of_kind("NetworkPolicy"), redis, port, |peer| {
        peer["namespaceSelector"].is_badvalue() && matches(&peer["podSelector"], labels)
    })
}
