//! `cargo xtask lab kind`: session 07's lab on a kind cluster, run for real where kind,
//! kubectl and Docker are installed (`--plan` prints its commands instead).
//!
//! | file | what it does |
//! |---|---|
//! | `plan.rs` | every command, as a reader types it, in steps under a comment: what `--plan` prints, the run runs and the book may show |
//! | `judge.rs` | what to install when a tool is missing, and how the answers read back are judged |
//! | `http.rs` | the status API's answers: GETs until one is as expected, and the port-forward they go through |
//! | `scaling.rs` | session 08's scaling drill: the HPA overlay, the stress Job, the HPA's status read until it scales up, then down |
//! | `manifests.rs` | (tests) the names the plan uses, checked against the manifests |
//!
//! The run checks its preconditions (never pretending: a missing tool fails it with what to
//! install), creates the cluster, builds and loads the image, installs Ingress NGINX and
//! metrics-server, applies the kind overlay, runs the sample Job, deletes a worker pod
//! mid-task and checks through the status API that every task succeeded exactly once with
//! no lease expired and none retried (the pod drained them), rolls the workers to `v2`
//! while the Job's tasks run and checks the same, rolls back, and reads `kubectl top`.
//! Then session 08's scaling drill: the HPA overlay applied, the stress Job run until the
//! HPA asks for more workers than its minimum, the Job deleted, and the HPA watched back
//! to its minimum. Last, session 10's final system: its image loaded and its overlay
//! applied, the API ready and the page served on the NodePort. The cluster is deleted
//! whatever happened. Every command has a deadline.
//! It needs this machine's ports 80, 443 and 30080 (the cluster's) and 8080 (the
//! port-forward) free.
//!
//! Budget: 25 minutes. Most of it is the image's release build (cargo-chef: the
//! dependencies, then the crate; minutes without Docker's build cache, seconds with it);
//! then creating the cluster (a minute or two, more when the node image is pulled the
//! first time), pulling Redis's, Ingress NGINX's and metrics-server's images, and the
//! rollouts. The drill and the rolling update take one to two minutes each (tasks of 20 s);
//! the scaling drill about ten: a minute or two for the HPA's first metrics and its
//! scale-up (the 30 s up window), four to six for the way down (the 60 s down window, then
//! half the workers a minute). Session 10's image is a second release build: it shares
//! only cargo-chef's stages with session 07's, so it adds about as long again as the first
//! build without Docker's build cache, then a rollout.

mod http;
mod judge;
#[cfg(test)]
mod manifests;
mod plan;
mod scaling;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

pub use plan::commands;
use plan::{
    APPLY, APPLY_FINAL, APPLY_HPA, BUILD, BUILD_FINAL, CLUSTER, CLUSTERS, CONTEXT, CONTEXT_NAME,
    CREATE, DELETE_CLUSTER, DELETE_JOB, DELETE_POD, DESCRIBE_HPA, DOCKER_VERSION, EVENTS,
    GET_FINAL_READY, GET_PAGE, GET_READY, GET_STATS, GET_VIA_INGRESS, GET_VIA_NODEPORT,
    GET_WORKERS, HISTORY, IMAGE_V1, IMAGE_V2, INGRESS_NGINX, KIND_VERSION, KUBECTL_VERSION,
    KindCommand, LOAD_FINAL, LOAD_V2, METRICS_SERVER, NODES, POD, PODS, PORT_FORWARD, SET_IMAGE_V2,
    SLOW_WORKERS, STATUS_API_READY, STEPS, STRESS, SUBMIT, SUBMITTED, TAG_V2, TOP, UNDO,
    WORKER_IMAGE, WORKER_LOGS, WORKERS_READY,
};

use http::{Answer, Http, PortForward};

use super::checks::QueueStatus;
use super::engine::which;
use super::shell;
use super::steps::Steps;

/// The tasks the sample Job submits: `send`'s five filters.
const SAMPLE_TASKS: u64 = 5;
/// Where `kubectl port-forward` listens (its `8080:80`).
const FORWARDED: u16 = 8080;

/// Deadlines.
const BUILD_TIME: Duration = Duration::from_secs(900);
const CREATE_TIME: Duration = Duration::from_secs(300);
const LOAD_TIME: Duration = Duration::from_secs(300);
const COMMAND_TIME: Duration = Duration::from_secs(120);
/// What a command with a `--timeout=` of its own gets on top, so its own message shows.
const MARGIN: Duration = Duration::from_secs(30);
const HTTP_TIME: Duration = Duration::from_secs(10);
const ANSWER_TIME: Duration = Duration::from_secs(90);
const BUSY_TIME: Duration = Duration::from_secs(60);
const SETTLE_TIME: Duration = Duration::from_secs(240);
const TOP_TIME: Duration = Duration::from_secs(180);
/// Between two looks at `kubectl top`.
const TOP_POLL: Duration = Duration::from_secs(5);

/// The plan as `--plan` prints it.
pub fn plan_text() -> String {
    plan::text()
}

/// Runs the lab.
pub fn run(root: &Path) -> Result<()> {
    check_tools(|tool| on_path(tool).is_some())?;
    let lab = Lab::new(root);
    let mut steps = Steps::new();
    steps.run(title(KIND_VERSION), || lab.preconditions())?;
    let mut findings = Vec::new();
    let mut reachable = false;
    let result = lab.run_cluster(&mut steps, &mut findings, &mut reachable);
    if result.is_err() && reachable {
        lab.diagnose();
    }
    // Deleted whatever happened: the preconditions made sure the cluster is the lab's.
    let deleted = steps.run(title(DELETE_CLUSTER), || lab.stream(DELETE_CLUSTER));
    eprintln!("\n{}", steps.table());
    for line in &findings {
        eprintln!("{line}");
    }
    result?;
    deleted?;
    eprintln!("the kind lab passed in {:.0}s", steps.total().as_secs_f64());
    Ok(())
}

/// Fails with what to install when a tool the lab runs is not `found`.
fn check_tools(found: impl Fn(&str) -> bool) -> Result<()> {
    let missing: Vec<&str> = judge::TOOLS
        .iter()
        .map(|(tool, _)| *tool)
        .filter(|tool| !found(tool))
        .collect();
    if !missing.is_empty() {
        bail!("{}", judge::missing_tools(&missing));
    }
    Ok(())
}

/// A program on the PATH.
fn on_path(program: &str) -> Option<PathBuf> {
    which(program).or_else(|| which(&format!("{program}.exe")))
}

/// The name of the step that runs `command` first.
fn title(command: KindCommand) -> &'static str {
    STEPS
        .iter()
        .find(|step| step.commands.contains(&command))
        .map_or("?", |step| step.name)
}

/// How long a command may run: its own `--timeout=` and a margin, or by what it does.
fn deadline(command: KindCommand) -> Duration {
    match command.words().as_slice() {
        ["docker", "build", ..] => BUILD_TIME,
        ["kind", "load", ..] => LOAD_TIME,
        ["kind", "create", ..] => CREATE_TIME,
        words => words
            .iter()
            .filter_map(|word| word.strip_prefix("--timeout="))
            .filter_map(|time| time.strip_suffix('s')?.parse().ok())
            .map(|seconds| Duration::from_secs(seconds) + MARGIN)
            .next()
            .unwrap_or(COMMAND_TIME),
    }
}

/// The lab: the workspace (every command runs there) and an HTTP client.
struct Lab {
    root: PathBuf,
    http: Http,
}

impl Lab {
    fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            http: Http::new(HTTP_TIME),
        }
    }

    /// `command` ready to run, `POD` filled in from `fill`.
    fn command(&self, command: KindCommand, fill: &[(&str, &str)]) -> Result<Command> {
        ensure!(
            plan::contains(command),
            "`{command}` is not in the lab's plan"
        );
        ensure!(
            matches!(command.program(), "kind" | "kubectl" | "docker"),
            "`{command}` is no kind, kubectl or docker command"
        );
        let words: Vec<&str> = command
            .words()
            .into_iter()
            .map(|word| {
                fill.iter()
                    .find(|(name, _)| *name == word)
                    .map_or(word, |(_, value)| *value)
            })
            .collect();
        ensure!(
            !words.contains(&POD),
            "`{command}`: nothing to fill {POD} with"
        );
        let mut built = Command::new(words[0]);
        built.args(&words[1..]).current_dir(&self.root);
        Ok(built)
    }

    /// Runs a command with its output shown.
    fn stream(&self, command: KindCommand) -> Result<()> {
        shell::stream(self.command(command, &[])?, deadline(command))
    }

    /// Runs every command of the step that has `first`, in order, with their output shown.
    fn stream_step(&self, first: KindCommand) -> Result<()> {
        let step = STEPS
            .iter()
            .find(|step| step.commands.first() == Some(&first))
            .with_context(|| format!("no step starts with `{first}`"))?;
        step.commands
            .iter()
            .try_for_each(|command| self.stream(*command))
    }

    /// Runs a command and returns its standard output.
    fn output(&self, command: KindCommand) -> Result<String> {
        shell::output(self.command(command, &[])?, deadline(command))
    }

    /// The tools' versions, the engine answering, and no cluster of the lab's name (the
    /// lab deletes its cluster at the end: it must not be someone else's).
    fn preconditions(&self) -> Result<()> {
        self.stream(KIND_VERSION)?;
        self.stream(KUBECTL_VERSION)?;
        self.stream(DOCKER_VERSION)
            .with_context(|| judge::ENGINE_DOWN)?;
        let clusters = self.output(CLUSTERS)?;
        ensure!(
            !judge::has_cluster(&clusters, CLUSTER),
            "a kind cluster named {CLUSTER} exists already, and the lab deletes the one it \
             creates: delete it first (`kind delete cluster --name {CLUSTER}`)"
        );
        Ok(())
    }

    /// Everything between the preconditions and deleting the cluster; `reachable` once
    /// kubectl talks to the lab's cluster.
    fn run_cluster(
        &self,
        steps: &mut Steps,
        findings: &mut Vec<String>,
        reachable: &mut bool,
    ) -> Result<()> {
        steps.run(title(CREATE), || {
            self.stream(CREATE)?;
            let context = self.output(CONTEXT)?;
            ensure!(
                context.trim() == CONTEXT_NAME,
                "kubectl's context is {:?}, not {CONTEXT_NAME}",
                context.trim()
            );
            *reachable = true;
            self.stream(NODES)
        })?;
        for first in [
            BUILD,
            INGRESS_NGINX,
            METRICS_SERVER,
            APPLY,
            PODS,
            SUBMIT,
            WORKER_LOGS,
        ] {
            steps.run(title(first), || self.stream_step(first))?;
        }
        let (forward, seen) = steps.run(title(PORT_FORWARD), || self.status_api())?;
        findings.push(seen);
        findings.extend(steps.run(title(DELETE_POD), || self.drill())?);
        findings.push(steps.run(title(SET_IMAGE_V2), || self.rolling_update())?);
        steps.run(title(TOP), || self.top(TOP))?;
        drop(forward);
        findings.push(steps.run(title(APPLY_HPA), || self.autoscaler())?);
        let (drill, watch) = steps.run(title(STRESS), || self.scale_up())?;
        let drill = steps.run(title(DESCRIBE_HPA), || self.scale_down(drill))?;
        drop(watch);
        findings.push(drill.finding());
        findings.push(steps.run(title(BUILD_FINAL), || self.final_system())?);
        Ok(())
    }

    /// Session 10's image and overlay: the API and the page in place of the status API,
    /// ready on the NodePort, the page served.
    fn final_system(&self) -> Result<String> {
        for command in [
            BUILD_FINAL,
            LOAD_FINAL,
            APPLY_FINAL,
            WORKERS_READY,
            STATUS_API_READY,
        ] {
            self.stream(command)?;
        }
        self.http
            .poll(GET_FINAL_READY, ANSWER_TIME, |status, body| {
                Ok(if status == 200 {
                    Answer::Done(())
                } else {
                    Answer::NotYet(format!("{status}: {}", body.trim()))
                })
            })?;
        self.http.poll(GET_PAGE, ANSWER_TIME, |status, body| {
            Ok(if status == 200 && body.contains("/app.js") {
                Answer::Done(())
            } else {
                Answer::NotYet(format!("{status}: not the page"))
            })
        })?;
        Ok(
            "final system: session 10's API ready and its page served on the NodePort \
            (30080), the workers on its image"
                .to_owned(),
        )
    }

    /// The status API through a port-forward, the Ingress and the NodePort. The
    /// port-forward runs until what this returns is dropped.
    fn status_api(&self) -> Result<(PortForward, String)> {
        let forward = PortForward::start(self.command(PORT_FORWARD, &[])?, FORWARDED)?;
        self.http.poll(GET_READY, ANSWER_TIME, |status, body| {
            Ok(match judge::readiness(body) {
                Ok((true, _)) if status == 200 => Answer::Done(()),
                Ok((_, reasons)) => Answer::NotYet(format!("{status}: {}", reasons.join("; "))),
                Err(error) => Answer::NotYet(format!("{status}: {error:#}")),
            })
        })?;
        let stats = self.http.poll(GET_STATS, ANSWER_TIME, read_stats)?;
        ensure!(
            stats.succeeded >= SAMPLE_TASKS,
            "/api/stats counts {} successes after the sample Job, expected at least \
             {SAMPLE_TASKS}",
            stats.succeeded
        );
        for outside in [GET_VIA_INGRESS, GET_VIA_NODEPORT] {
            self.http.poll(outside, ANSWER_TIME, |status, body| {
                Ok(if status == 200 && judge::is_alive(body) {
                    Answer::Done(())
                } else {
                    Answer::NotYet(format!("{status}: {}", body.trim()))
                })
            })?;
        }
        Ok((
            forward,
            format!(
                "status API: ready through a port-forward, answering through the Ingress \
                 (port 80) and the NodePort (30080); {} task(s) succeeded so far",
                stats.succeeded
            ),
        ))
    }

    /// The sample Job again, and `disrupt` run once a worker pod holds some of its tasks
    /// (it is given that pod's name, and how many it holds). The queue's counts before and
    /// after must show each task succeeded exactly once, and none was given up: every
    /// stopped worker drained its tasks in time.
    fn under_load(&self, disrupt: impl FnOnce(&str) -> Result<()>) -> Result<(String, usize)> {
        self.stream(DELETE_JOB)?;
        let before = self.http.poll(GET_STATS, SETTLE_TIME, settled)?;
        self.stream(SUBMIT)?;
        let (pod, held) = self.http.poll(GET_WORKERS, BUSY_TIME, |status, body| {
            Ok(match judge::busy_pod(body) {
                Ok(Some(found)) if status == 200 => Answer::Done(found),
                Ok(_) => Answer::NotYet(format!("{status}: no worker pod holds a task yet")),
                Err(error) => Answer::NotYet(format!("{status}: {error:#}")),
            })
        })?;
        disrupt(&pod)?;
        self.stream(SUBMITTED)?;
        let after = self.http.poll(GET_STATS, SETTLE_TIME, settled)?;
        judge::check_drill(&before, &after, SAMPLE_TASKS)?;
        Ok((pod, held))
    }

    /// The failure drill: slow tasks, then a worker pod deleted while it holds some of the
    /// sample Job's. The pod drains them (SIGTERM, then SHUTDOWN_GRACE) and the Deployment
    /// replaces it.
    fn drill(&self) -> Result<Vec<String>> {
        self.stream(SLOW_WORKERS)?;
        self.stream(WORKERS_READY)?;
        let (pod, held) = self.under_load(|pod| {
            shell::stream(
                self.command(DELETE_POD, &[(POD, pod)])?,
                deadline(DELETE_POD),
            )
        })?;
        self.stream(WORKERS_READY)?;
        Ok(vec![format!(
            "drill: pod {pod} deleted holding {held} task(s); the {SAMPLE_TASKS} tasks all \
             succeeded exactly once, no lease expired and none was retried; its replacement \
             ready"
        )])
    }

    /// A rolling update to v2 while the sample Job's tasks run, checked like the drill,
    /// then the rollback to v1; each checked by the image the workers' template names.
    fn rolling_update(&self) -> Result<String> {
        for command in [TAG_V2, LOAD_V2] {
            self.stream(command)?;
        }
        let (pod, held) = self.under_load(|_| {
            self.stream(SET_IMAGE_V2)?;
            self.stream(WORKERS_READY)
        })?;
        self.show_image(IMAGE_V2)?;
        for command in [HISTORY, UNDO, WORKERS_READY] {
            self.stream(command)?;
        }
        self.show_image(IMAGE_V1)?;
        Ok(format!(
            "rolling update: the workers moved to {IMAGE_V2} while {pod} held {held} of the \
             Job's tasks; the {SAMPLE_TASKS} tasks all succeeded exactly once, none retried; \
             then back to {IMAGE_V1} with `rollout undo`, each rollout complete"
        ))
    }

    /// Prints the image the workers' pod template names, and checks it.
    fn show_image(&self, expected: &str) -> Result<()> {
        let image = self.output(WORKER_IMAGE)?;
        eprintln!("{}", image.trim());
        judge::check_image(&image, expected)
    }

    /// A `kubectl top` command, once metrics-server has numbers for what it asks.
    fn top(&self, command: KindCommand) -> Result<()> {
        eprintln!("$ {command}");
        let started = Instant::now();
        loop {
            let out = shell::capture(self.command(command, &[])?, COMMAND_TIME)?;
            if out.status.success() {
                eprint!("{}", out.stdout);
                return Ok(());
            }
            // Until its first scrapes, metrics-server answers that metrics are not available.
            ensure!(
                started.elapsed() < TOP_TIME,
                "`{command}` still fails after {}s: {}",
                TOP_TIME.as_secs(),
                out.stderr.trim()
            );
            thread::sleep(TOP_POLL);
        }
    }

    /// After a failure, what the namespace looks like, and the HPA's conditions and events
    /// once it exists; its own failures are only shown.
    fn diagnose(&self) {
        for command in [PODS, EVENTS] {
            if let Err(error) = self.stream(command) {
                eprintln!("({error:#})");
            }
        }
        eprintln!("$ {DESCRIBE_HPA}");
        match self
            .command(DESCRIBE_HPA, &[])
            .and_then(|command| shell::capture(command, deadline(DESCRIBE_HPA)))
        {
            Ok(out) if out.status.success() => eprint!("{}", out.stdout),
            // Before the scaling drill there is no HPA: nothing to show.
            Ok(out) if out.stderr.contains("NotFound") => eprintln!("(no HPA yet)"),
            Ok(out) => eprintln!("({})", out.stderr.trim()),
            Err(error) => eprintln!("({error:#})"),
        }
    }
}

/// `/api/stats` read, whatever the queue holds.
fn read_stats(status: u16, body: &str) -> Result<Answer<QueueStatus>> {
    Ok(match QueueStatus::parse(body) {
        Ok(stats) if status == 200 => Answer::Done(stats),
        Ok(_) => Answer::NotYet(format!("{status}: {}", body.trim())),
        Err(error) => Answer::NotYet(format!("{status}: {error:#}")),
    })
}

/// `/api/stats` once no task waits or runs.
fn settled(status: u16, body: &str) -> Result<Answer<QueueStatus>> {
    Ok(match read_stats(status, body)? {
        Answer::Done(stats) if stats.is_settled() => Answer::Done(stats),
        Answer::Done(stats) => Answer::NotYet(format!(
            "{} task(s) waiting, {} in flight",
            stats.waiting, stats.in_flight
        )),
        not_yet @ Answer::NotYet(_) => not_yet,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_follow_what_a_command_does() {
        assert_eq!(deadline(BUILD), BUILD_TIME);
        assert_eq!(deadline(CREATE), CREATE_TIME);
        assert_eq!(deadline(LOAD_V2), LOAD_TIME);
        assert_eq!(
            deadline(plan::ADMISSION_PATCHED),
            Duration::from_secs(120) + MARGIN
        );
        assert_eq!(deadline(SUBMITTED), Duration::from_secs(300) + MARGIN);
        assert_eq!(deadline(WORKERS_READY), Duration::from_secs(180) + MARGIN);
        assert_eq!(deadline(PODS), COMMAND_TIME);
    }

    #[test]
    fn every_step_has_a_distinct_name_and_the_run_finds_them() {
        let mut names: Vec<&str> = STEPS.iter().map(|step| step.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), STEPS.len());
        assert_eq!(title(CREATE), "cluster");
        assert_eq!(title(DELETE_CLUSTER), "delete the cluster");
        assert_eq!(title(GET_WORKERS), "drill: delete a busy worker pod");
    }

    #[test]
    fn only_plan_commands_run_and_pod_must_be_filled() {
        let lab = Lab::new(Path::new("."));
        let foreign = KindCommand {
            line: "kubectl delete namespace kube-system",
        };
        assert!(lab.command(foreign, &[]).is_err());
        assert!(lab.command(DELETE_POD, &[]).is_err());
        let filled = lab
            .command(DELETE_POD, &[(POD, "worker-deployment-1-abc")])
            .unwrap();
        assert_eq!(
            shell::line(&filled),
            "kubectl -n imgproc delete pod worker-deployment-1-abc --wait=false"
        );
        assert!(
            lab.command(GET_READY, &[]).is_err(),
            "curl is sent, not run"
        );
    }

    #[test]
    fn a_missing_tool_stops_the_lab_with_what_to_install() {
        let error = check_tools(|tool| tool != "kind").unwrap_err().to_string();
        assert!(error.contains("go install sigs.k8s.io/kind@"), "{error}");
        assert!(!error.contains("  - docker"), "{error}");
        check_tools(|_| true).unwrap();
    }
}
