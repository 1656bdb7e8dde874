//! The kind lab's plan: every command it runs, written as a reader types it, in steps,
//! each under a comment saying what it does. `cargo xtask lab kind --plan` prints it, the
//! run runs only commands from it, and the book shows only commands from it
//! ([`commands`]).

use std::borrow::Cow;
use std::fmt;

/// A command of the kind lab, as the book shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindCommand {
    /// `kind ...`, `kubectl ...`, `docker ...`, or `curl URL` (the run sends that GET
    /// itself): words separated by one space, unquoted. The word `POD` is filled in when
    /// it runs.
    pub line: &'static str,
}

impl KindCommand {
    /// Its words.
    pub fn words(&self) -> Vec<&'static str> {
        self.line.split(' ').collect()
    }

    /// Its program: the first word.
    pub fn program(&self) -> &'static str {
        self.line.split(' ').next().unwrap_or_default()
    }
}

/// As typed in a POSIX shell: a word the shell would read (JSON, brackets) in single quotes.
impl fmt::Display for KindCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<Cow<'_, str>> = self.words().into_iter().map(quoted).collect();
        f.write_str(&words.join(" "))
    }
}

/// A word as a shell needs it: as it is when every character is plain, else quoted.
fn quoted(word: &str) -> Cow<'_, str> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=@,%+".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        Cow::Borrowed(word)
    } else {
        Cow::Owned(format!("'{word}'"))
    }
}

/// A step of the lab: its commands, in order, under a comment.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    /// Its name in the table of steps at the end of a run.
    pub name: &'static str,
    /// What it does and why, printed as `# ...` lines above its commands.
    pub comment: &'static str,
    /// Its commands.
    pub commands: &'static [KindCommand],
}

const fn typed(line: &'static str) -> KindCommand {
    KindCommand { line }
}

/// The cluster's name; kubectl's context for it is `kind-imgproc`.
pub const CLUSTER: &str = "imgproc";
/// The context `kind create cluster` makes current.
pub const CONTEXT_NAME: &str = "kind-imgproc";
/// The image, as built.
pub const IMAGE_V1: &str = "session07-k8s:v1";
/// The same image under the tag the rolling update moves the workers to.
pub const IMAGE_V2: &str = "session07-k8s:v2";
/// The worker pods' names start with their Deployment's.
pub const WORKER_POD_PREFIX: &str = "worker-deployment-";
/// The placeholder for a pod's name.
pub const POD: &str = "POD";

// ANCHOR: commands
/// The tools, and the Docker engine answering (`docker version` fails when it does not).
pub const KIND_VERSION: KindCommand = typed("kind version");
/// kubectl's own version (no cluster yet).
pub const KUBECTL_VERSION: KindCommand = typed("kubectl version --client");
/// The Docker client's and engine's versions.
pub const DOCKER_VERSION: KindCommand = typed("docker version");
/// The kind clusters there are: the lab's must not exist yet.
pub const CLUSTERS: KindCommand = typed("kind get clusters");
/// The cluster: nodes are Docker containers; the config maps ports to this machine.
pub const CREATE: KindCommand = typed(
    "kind create cluster --name imgproc --config session07_k8s/k8s/kind/cluster.yaml --wait 120s",
);
/// The context kubectl talks to now.
pub const CONTEXT: KindCommand = typed("kubectl config current-context");
/// The nodes, their roles and addresses.
pub const NODES: KindCommand = typed("kubectl get nodes -o wide");
/// The image, built from the workspace root.
pub const BUILD: KindCommand =
    typed("docker build -f session07_k8s/Dockerfile -t session07-k8s:v1 .");
/// The image copied into every node: no registry has it. Redis's image is not loaded: the
/// node pulls it (`kind load` fails on it under Docker's containerd image store).
pub const LOAD: KindCommand = typed("kind load docker-image session07-k8s:v1 --name imgproc");
/// Ingress NGINX's manifest for kind, at its last release.
pub const INGRESS_NGINX: KindCommand = typed(
    "kubectl apply -f https://raw.githubusercontent.com/kubernetes/ingress-nginx/controller-v1.15.1/deploy/static/provider/kind/deploy.yaml",
);
/// Waits for the Job that gives the admission webhook its certificate: until it is done,
/// the API server refuses every Ingress. The Job deletes itself once finished
/// (`ttlSecondsAfterFinished: 0`), so it is waited for right after the apply, while it
/// still exists.
pub const ADMISSION_PATCHED: KindCommand = typed(
    "kubectl -n ingress-nginx wait --for=condition=complete job/ingress-nginx-admission-patch --timeout=120s",
);
/// Waits for the controller to be ready (its admission webhook with it).
pub const INGRESS_READY: KindCommand = typed(
    "kubectl -n ingress-nginx rollout status deployment/ingress-nginx-controller --timeout=180s",
);
/// metrics-server, for `kubectl top`.
pub const METRICS_SERVER: KindCommand = typed(
    "kubectl apply -f https://github.com/kubernetes-sigs/metrics-server/releases/download/v0.8.1/components.yaml",
);
/// kind's kubelets serve self-signed certificates: metrics-server skips verifying them.
pub const METRICS_INSECURE_TLS: KindCommand = typed(
    r#"kubectl patch -n kube-system deployment metrics-server --type=json -p [{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--kubelet-insecure-tls"}]"#,
);
/// Waits for metrics-server, patched, to be ready.
pub const METRICS_READY: KindCommand =
    typed("kubectl -n kube-system rollout status deployment/metrics-server --timeout=180s");
/// The application, through the kind overlay.
pub const APPLY: KindCommand = typed("kubectl apply -k session07_k8s/k8s/overlays/kind");
/// Waits for Redis.
pub const REDIS_READY: KindCommand =
    typed("kubectl -n imgproc rollout status statefulset/redis --timeout=180s");
/// Waits for the workers (after a change too: every new pod ready, the old ones gone).
pub const WORKERS_READY: KindCommand =
    typed("kubectl -n imgproc rollout status deployment/worker-deployment --timeout=180s");
/// Waits for the status API.
pub const STATUS_API_READY: KindCommand =
    typed("kubectl -n imgproc rollout status deployment/status-api-deployment --timeout=180s");
/// The pods, and the node each runs on.
pub const PODS: KindCommand = typed("kubectl -n imgproc get pods -o wide");
/// What happened in the namespace, oldest first.
pub const EVENTS: KindCommand = typed("kubectl -n imgproc get events --sort-by=.lastTimestamp");
/// The Job that runs `send`: five tasks on a sample photo.
pub const SUBMIT: KindCommand =
    typed("kubectl -n imgproc apply -f session07_k8s/k8s/jobs/submit-samples.yaml");
/// Waits for the Job to complete.
pub const SUBMITTED: KindCommand =
    typed("kubectl -n imgproc wait --for=condition=complete job/submit-samples --timeout=300s");
/// What the Job printed.
pub const SUBMIT_LOGS: KindCommand = typed("kubectl -n imgproc logs job/submit-samples");
/// One worker's last lines of log.
pub const WORKER_LOGS: KindCommand =
    typed("kubectl -n imgproc logs deployment/worker-deployment --tail=20");
/// The workers' Deployment: replicas, strategy, probes, events.
pub const DESCRIBE: KindCommand = typed("kubectl -n imgproc describe deployment worker-deployment");
/// The status API on this machine's port 8080, while it runs.
pub const PORT_FORWARD: KindCommand =
    typed("kubectl -n imgproc port-forward service/status-api-service 8080:80");
/// Readiness: Redis answers and a worker is live.
pub const GET_READY: KindCommand = typed("curl http://127.0.0.1:8080/api/ready");
/// The queue's counts.
pub const GET_STATS: KindCommand = typed("curl http://127.0.0.1:8080/api/stats");
/// The workers and the tasks each holds.
pub const GET_WORKERS: KindCommand = typed("curl http://127.0.0.1:8080/api/workers");
/// Through the Ingress, on the port kind maps to this machine.
pub const GET_VIA_INGRESS: KindCommand = typed("curl http://localhost/api/health");
/// Through the NodePort Service of the kind overlay.
pub const GET_VIA_NODEPORT: KindCommand = typed("curl http://localhost:30080/api/health");
/// Each task 20 s long, so a pod stops with tasks in hand, and its drain takes a while
/// (a rollout of its own). Less than SHUTDOWN_GRACE and TASK_TIMEOUT (60 s each).
pub const SLOW_WORKERS: KindCommand =
    typed("kubectl -n imgproc set env deployment/worker-deployment WORKER_DELAY=20");
/// A finished Job does not run again: it is deleted (unless its TTL did), then applied anew.
pub const DELETE_JOB: KindCommand =
    typed("kubectl -n imgproc delete job submit-samples --ignore-not-found");
/// The failure: a worker pod deleted while it holds tasks.
pub const DELETE_POD: KindCommand = typed("kubectl -n imgproc delete pod POD --wait=false");
/// The same image under a new tag, for a rolling update.
pub const TAG_V2: KindCommand = typed("docker tag session07-k8s:v1 session07-k8s:v2");
/// The new tag in the nodes.
pub const LOAD_V2: KindCommand = typed("kind load docker-image session07-k8s:v2 --name imgproc");
/// The rolling update.
pub const SET_IMAGE_V2: KindCommand =
    typed("kubectl -n imgproc set image deployment/worker-deployment worker=session07-k8s:v2");
/// The image the workers' pod template names now.
pub const WORKER_IMAGE: KindCommand = typed(
    "kubectl -n imgproc get deployment worker-deployment -o jsonpath={.spec.template.spec.containers[0].image}",
);
/// The Deployment's revisions.
pub const HISTORY: KindCommand =
    typed("kubectl -n imgproc rollout history deployment/worker-deployment");
/// Back to the revision before.
pub const UNDO: KindCommand = typed("kubectl -n imgproc rollout undo deployment/worker-deployment");
/// Each pod's CPU and memory, from metrics-server.
pub const TOP: KindCommand = typed("kubectl -n imgproc top pods");
/// The node's CPU and memory: metrics-server answers.
pub const TOP_NODES: KindCommand = typed("kubectl top nodes");
/// The drill's slow tasks undone: a task that sleeps uses no CPU, so the HPA would see none.
pub const FAST_WORKERS: KindCommand =
    typed("kubectl -n imgproc set env deployment/worker-deployment WORKER_DELAY-");
/// Session 08: the kind overlay with a HorizontalPodAutoscaler on the workers.
pub const APPLY_HPA: KindCommand = typed("kubectl apply -k session08_scaling/k8s/overlays/hpa");
/// The HPA whole, as JSON: its status says the replicas it wants and the metrics it saw.
pub const HPA_STATUS: KindCommand = typed("kubectl -n imgproc get hpa worker-hpa -o json");
/// The HPA in a line: its metrics against their targets, its bounds, its replicas.
pub const GET_HPA: KindCommand = typed("kubectl -n imgproc get hpa worker-hpa");
/// The load: heavy tasks, submitted by three pods at a time.
pub const STRESS: KindCommand =
    typed("kubectl -n imgproc apply -f session08_scaling/k8s/jobs/stress.yaml");
/// The HPA again, a line each time it changes, until Ctrl-C.
pub const WATCH_HPA: KindCommand = typed("kubectl -n imgproc get hpa worker-hpa --watch");
/// The load stopped: the Job and its pods deleted (the tasks they submitted still run).
pub const DELETE_STRESS: KindCommand =
    typed("kubectl -n imgproc delete job stress --ignore-not-found");
/// The HPA's conditions and events: each change of size, and its reason.
pub const DESCRIBE_HPA: KindCommand = typed("kubectl -n imgproc describe hpa worker-hpa");
/// Session 10: its image, built from the workspace root (a second release build: only
/// cargo-chef's stages are shared with session 07's image).
pub const BUILD_FINAL: KindCommand =
    typed("docker build -f session10_final/Dockerfile -t session10-final:v1 .");
/// Session 10's image in the nodes.
pub const LOAD_FINAL: KindCommand =
    typed("kind load docker-image session10-final:v1 --name imgproc");
/// Session 10's overlay: its API and page in place of the status API, the workers on its
/// image.
pub const APPLY_FINAL: KindCommand = typed("kubectl apply -k session10_final/k8s/overlays/final");
/// Session 10's API, ready on the NodePort: it reaches Redis and a worker is live.
pub const GET_FINAL_READY: KindCommand = typed("curl http://localhost:30080/api/ready");
/// Session 10's page, on the NodePort.
pub const GET_PAGE: KindCommand = typed("curl http://localhost:30080/");
/// The cluster deleted: its node containers, and its context in kubeconfig.
pub const DELETE_CLUSTER: KindCommand = typed("kind delete cluster --name imgproc");

/// The lab, step by step.
pub const STEPS: [Step; 18] = [
    Step {
        name: "preconditions",
        comment: "kind, kubectl and Docker installed, the Docker engine answering, no cluster named imgproc yet.",
        commands: &[KIND_VERSION, KUBECTL_VERSION, DOCKER_VERSION, CLUSTERS],
    },
    Step {
        name: "cluster",
        comment: "A cluster whose nodes are Docker containers; ports 80, 443 and 30080 reach it from this machine.",
        commands: &[CREATE, CONTEXT, NODES],
    },
    Step {
        name: "images",
        comment: "The image, built from the workspace root and loaded into the nodes: no registry has it.\n\
                  Redis's image comes from Docker Hub: the node pulls it when Redis starts.",
        commands: &[BUILD, LOAD],
    },
    Step {
        name: "ingress controller",
        comment: "Ingress NGINX for kind, at its last release (the project is retired; its manifests stay).\n\
                  Its controller takes the node's ports 80 and 443, which kind maps to this machine. Its\n\
                  admission webhook checks every Ingress, once a Job has given it a certificate.",
        commands: &[INGRESS_NGINX, ADMISSION_PATCHED, INGRESS_READY],
    },
    Step {
        name: "metrics-server",
        comment: "metrics-server, for `kubectl top`. kind's kubelets serve self-signed certificates, so it is\n\
                  told not to verify them: fine for a cluster on a laptop, never in production.",
        commands: &[METRICS_SERVER, METRICS_INSECURE_TLS, METRICS_READY],
    },
    Step {
        name: "application",
        comment: "The application through the kind overlay, then each rollout waited for.",
        commands: &[APPLY, REDIS_READY, WORKERS_READY, STATUS_API_READY],
    },
    Step {
        name: "pods",
        comment: "The pods, the node each runs on, and what happened so far.",
        commands: &[PODS, EVENTS],
    },
    Step {
        name: "sample job",
        comment: "The Job that sends five tasks on a sample photo; it completes when all five succeeded.",
        commands: &[SUBMIT, SUBMITTED, SUBMIT_LOGS],
    },
    Step {
        name: "workers",
        comment: "A worker's log (JSON lines) and its Deployment.",
        commands: &[WORKER_LOGS, DESCRIBE],
    },
    Step {
        name: "status API",
        comment: "The status API on port 8080 (port-forward runs until Ctrl-C: start it in a second terminal),\n\
                  then through the Ingress on port 80 and the NodePort on 30080.",
        commands: &[
            PORT_FORWARD,
            GET_READY,
            GET_STATS,
            GET_VIA_INGRESS,
            GET_VIA_NODEPORT,
        ],
    },
    Step {
        name: "drill: delete a busy worker pod",
        comment: "Failure drill: slow tasks, the Job again, and a worker pod that holds tasks deleted (POD: the\n\
                  host of a busy worker in /api/workers). It drains them; the counts show each task succeeded\n\
                  once, and no lease expired and no task was retried.",
        commands: &[
            SLOW_WORKERS,
            WORKERS_READY,
            DELETE_JOB,
            GET_STATS,
            SUBMIT,
            GET_WORKERS,
            DELETE_POD,
            SUBMITTED,
            GET_STATS,
            WORKERS_READY,
        ],
    },
    Step {
        name: "rolling update and rollback",
        comment: "A rolling update to v2 (the same image, a new tag) while the Job's tasks run, checked like\n\
                  the drill; its history, and a rollback to v1.",
        commands: &[
            TAG_V2,
            LOAD_V2,
            DELETE_JOB,
            GET_STATS,
            SUBMIT,
            GET_WORKERS,
            SET_IMAGE_V2,
            WORKERS_READY,
            SUBMITTED,
            GET_STATS,
            WORKER_IMAGE,
            HISTORY,
            UNDO,
            WORKERS_READY,
            WORKER_IMAGE,
        ],
    },
    Step {
        name: "resource usage",
        comment: "Each pod's CPU and memory (metrics-server needs a minute after it starts).",
        commands: &[TOP],
    },
    Step {
        name: "autoscaler",
        comment: "Session 08: the workers scaled by a HorizontalPodAutoscaler, 2 to 8, on their CPU (70 %) and\n\
                  memory (80 %) against their requests, with the course's behaviour block. metrics-server\n\
                  answers first; the drill's slow tasks go (a sleeping task uses no CPU). The HPA's status\n\
                  is read until its metrics arrive (`get hpa` shows <unknown> before) and it wants, and has,\n\
                  its minimum of 2: the load starts from there.",
        commands: &[
            TOP_NODES,
            FAST_WORKERS,
            APPLY_HPA,
            WORKERS_READY,
            HPA_STATUS,
            GET_HPA,
        ],
    },
    Step {
        name: "scale up under load",
        comment: "The stress Job: heavy tasks, three pods at a time. The workers' CPU rises past 70 %; the HPA\n\
                  asks for more once the last 30 s all asked, at most doubling each minute (--watch runs\n\
                  until Ctrl-C: start it in a second terminal). Once it wants more than 2, the load stops.",
        commands: &[STRESS, WATCH_HPA, HPA_STATUS, TOP, PODS, DELETE_STRESS],
    },
    Step {
        name: "scale down after the load",
        comment: "The load gone, the HPA waits out its 60 s down window, then at most halves the workers each\n\
                  minute, back to 2. Its events say when, and why.",
        commands: &[HPA_STATUS, DESCRIBE_HPA, GET_HPA],
    },
    Step {
        name: "the final system",
        comment: "Session 10: its image loaded, and its overlay applied over the same cluster: the status API's\n\
                  Deployment now runs the API and the page on the cluster's Redis, behind the same Service\n\
                  and NodePort, and the workers run its image. Ready once a worker is live; the page answers.",
        commands: &[
            BUILD_FINAL,
            LOAD_FINAL,
            APPLY_FINAL,
            WORKERS_READY,
            STATUS_API_READY,
            GET_FINAL_READY,
            GET_PAGE,
        ],
    },
    Step {
        name: "delete the cluster",
        comment: "The cluster deleted, whatever happened before.",
        commands: &[DELETE_CLUSTER],
    },
];
// ANCHOR_END: commands

/// Whether the plan has `command`.
pub fn contains(command: KindCommand) -> bool {
    STEPS.iter().any(|step| step.commands.contains(&command))
}

/// The plan as `--plan` prints it: each step's comment as `# ...` lines, then its
/// commands, one per line, as typed; a blank line between steps.
pub fn text() -> String {
    let mut text = String::new();
    for (number, step) in STEPS.iter().enumerate() {
        if number > 0 {
            text.push('\n');
        }
        for (line, comment) in step.comment.lines().enumerate() {
            let comment = comment.trim();
            if line == 0 {
                text.push_str(&format!("# {}. {comment}\n", number + 1));
            } else {
                text.push_str(&format!("# {comment}\n"));
            }
        }
        for command in step.commands {
            text.push_str(&format!("{command}\n"));
        }
    }
    text
}

/// Every command of the plan once, as the book check compares them (words unquoted,
/// joined by one space).
pub fn commands() -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for command in STEPS.iter().flat_map(|step| step.commands) {
        if !lines.iter().any(|line| line == command.line) {
            lines.push(command.line.to_owned());
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> impl Iterator<Item = &'static KindCommand> {
        STEPS.iter().flat_map(|step| step.commands)
    }

    #[test]
    fn every_command_is_plain_words_of_a_known_program() {
        for command in all() {
            let line = command.line;
            assert!(
                !line.starts_with(' ') && !line.ends_with(' ') && !line.contains("  "),
                "{line:?}: words are separated by one space"
            );
            assert!(
                !line.contains(['\'', '\t', '\n']),
                "{line:?}: a word must be shown in single quotes as it is"
            );
            match command.words().as_slice() {
                ["kind" | "kubectl" | "docker", _, ..] => {}
                ["curl", url] => assert!(url.starts_with("http://"), "{line}"),
                _ => panic!("{line} is no kind, kubectl, docker or `curl URL` command"),
            }
        }
    }

    #[test]
    fn words_a_shell_would_read_are_quoted() {
        assert_eq!(
            METRICS_INSECURE_TLS.to_string(),
            r#"kubectl patch -n kube-system deployment metrics-server --type=json -p '[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--kubelet-insecure-tls"}]'"#
        );
        assert_eq!(
            WORKER_IMAGE.to_string(),
            "kubectl -n imgproc get deployment worker-deployment -o \
             'jsonpath={.spec.template.spec.containers[0].image}'"
        );
        assert_eq!(
            BUILD.to_string(),
            "docker build -f session07_k8s/Dockerfile -t session07-k8s:v1 ."
        );
        assert_eq!(
            WORKER_IMAGE.line,
            "kubectl -n imgproc get deployment worker-deployment -o \
             jsonpath={.spec.template.spec.containers[0].image}"
        );
    }

    #[test]
    fn the_plan_prints_every_command_under_its_steps_comment() {
        let text = text();
        let lines: Vec<&str> = text.lines().collect();
        for (number, step) in STEPS.iter().enumerate() {
            let heading = format!("# {}. ", number + 1);
            let at = lines
                .iter()
                .position(|line| line.starts_with(&heading))
                .unwrap_or_else(|| panic!("no comment {heading:?} in\n{text}"));
            let shown: Vec<&str> = lines[at..]
                .iter()
                .skip_while(|line| line.starts_with('#'))
                .take(step.commands.len())
                .copied()
                .collect();
            let expected: Vec<String> = step.commands.iter().map(ToString::to_string).collect();
            assert_eq!(shown, expected, "step {heading}");
        }
        let commands = lines
            .iter()
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .count();
        assert_eq!(commands, all().count());
    }

    #[test]
    fn the_book_check_gets_each_command_once() {
        let lines = commands();
        let mut distinct = lines.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), lines.len());
        assert!(lines.contains(&"kind delete cluster --name imgproc".to_owned()));
        assert!(all().all(|command| lines.iter().any(|line| line == command.line)));
    }

    #[test]
    fn only_our_image_is_loaded_and_redis_is_left_to_the_node() {
        let loads: Vec<&str> = all()
            .filter(|command| command.words().starts_with(&["kind", "load"]))
            .map(|command| command.line)
            .collect();
        assert_eq!(
            loads,
            [
                "kind load docker-image session07-k8s:v1 --name imgproc",
                "kind load docker-image session07-k8s:v2 --name imgproc",
                "kind load docker-image session10-final:v1 --name imgproc"
            ]
        );
        assert!(
            !all().any(|command| command.line.contains("redis:")),
            "no command pulls or loads Redis's image"
        );
    }

    /// The commands of the step named `name`.
    fn step(name: &str) -> &'static [KindCommand] {
        STEPS
            .iter()
            .find(|step| step.name == name)
            .unwrap_or_else(|| panic!("no step {name}"))
            .commands
    }

    #[test]
    fn the_admission_job_is_waited_for_while_it_exists() {
        // It deletes itself once complete: right after the apply, before anything else.
        assert_eq!(
            step("ingress controller"),
            [INGRESS_NGINX, ADMISSION_PATCHED, INGRESS_READY]
        );
    }

    #[test]
    fn the_rolling_update_runs_under_load_and_is_checked() {
        let commands = step("rolling update and rollback");
        let at = |command: KindCommand| {
            commands
                .iter()
                .position(|c| *c == command)
                .unwrap_or_else(|| panic!("no {command}"))
        };
        let stats: Vec<usize> = commands
            .iter()
            .enumerate()
            .filter(|(_, c)| **c == GET_STATS)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(stats.len(), 2, "counts read before and after");
        assert!(stats[0] < at(SUBMIT));
        assert!(at(SUBMIT) < at(GET_WORKERS) && at(GET_WORKERS) < at(SET_IMAGE_V2));
        assert!(at(SET_IMAGE_V2) < at(SUBMITTED) && at(SUBMITTED) < stats[1]);
        assert!(stats[1] < at(UNDO));
    }

    #[test]
    fn the_scaling_drill_loads_then_stops_the_load_then_watches_it_shrink() {
        // Where `command` is in `commands`; a missing one fails the test.
        fn place(commands: &[KindCommand], command: KindCommand) -> usize {
            commands
                .iter()
                .position(|c| *c == command)
                .unwrap_or_else(|| panic!("no {command}"))
        }
        let up = step("scale up under load");
        let at = |command: KindCommand| place(up, command);
        assert_eq!(at(STRESS), 0, "the load first");
        assert_eq!(up.last(), Some(&DELETE_STRESS), "the load stopped last");
        assert!(at(HPA_STATUS) < at(DELETE_STRESS));
        assert_eq!(step("scale down after the load").first(), Some(&HPA_STATUS));
        // The autoscaler is applied after session 07's steps, and the drill's delay undone.
        let names: Vec<&str> = STEPS.iter().map(|step| step.name).collect();
        let position = |name: &str| names.iter().position(|n| *n == name).unwrap();
        assert!(position("rolling update and rollback") < position("autoscaler"));
        assert_eq!(position("delete the cluster"), STEPS.len() - 1);
        let autoscaler = step("autoscaler");
        let at = |command: KindCommand| place(autoscaler, command);
        assert!(at(FAST_WORKERS) < at(APPLY_HPA) && at(APPLY_HPA) < at(HPA_STATUS));
        assert!(FAST_WORKERS.line.ends_with(&format!(
            "{}-",
            SLOW_WORKERS.line.rsplit(' ').next().unwrap().split('=').next().unwrap()
        )));
    }

    #[test]
    fn the_command_line_asks_for_the_plan() {
        crate::parse_task(&["xtask", "lab", "kind", "--plan"]).unwrap();
    }

    #[test]
    fn the_files_the_plan_names_exist() {
        let root = crate::workspace_root();
        let named: Vec<&str> = all()
            .flat_map(|command| command.words())
            .filter(|word| {
                word.starts_with("session07_k8s/") || word.starts_with("session08_scaling/")
            })
            .collect();
        for expected in [
            "session07_k8s/k8s/kind/cluster.yaml",
            "session07_k8s/Dockerfile",
            "session07_k8s/k8s/overlays/kind",
            "session07_k8s/k8s/jobs/submit-samples.yaml",
            "session08_scaling/k8s/overlays/hpa",
            "session08_scaling/k8s/jobs/stress.yaml",
        ] {
            assert!(named.contains(&expected), "the plan names no {expected}");
        }
        for path in named {
            assert!(
                root.join(path).exists(),
                "the plan names {path}, which does not exist"
            );
        }
    }
}
