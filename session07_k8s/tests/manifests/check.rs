//! The consistency checks: what the manifests say against what the binary does. Each
//! finds problems as sentences that name the object, the container and the field; a
//! consistent set of manifests has none.
//!
//! Only our image's containers are held to the binary (their command is `args[0]`, or
//! the image's `worker`); every container is held to the images the lab has, and every
//! reference to a ConfigMap or Secret must name a key the manifests hold. A variable's
//! value is the manifest's, else the image's `ENV`, else the binary's default.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;

use yaml_rust2::Yaml;

use super::binary::{Binary, DEFAULT_COMMAND, repository, tag};
use super::render::Objects;
use super::selector;
use super::{network, redis};

/// What Kubernetes waits before SIGKILL when a pod does not say.
const DEFAULT_GRACE_PERIOD: i64 = 30;
/// What the kubelet waits for a probe's answer when the probe does not say.
const DEFAULT_PROBE_TIMEOUT: i64 = 1;
/// What a process gets after its drain before SIGKILL: the rest of its shutdown (side
/// tasks stopped, the probe server closed, the last log lines written).
const SHUTDOWN_MARGIN: i64 = 15;

/// The variables every client of one Redis queue must agree on.
const QUEUE_SETTINGS: [&str; 3] = ["QUEUE_NAMESPACE", "REDIS_URL", "LEASE"];
/// The variables the workers and the status API must agree on: how often a worker beats,
/// and how long the API counts it live without a beat.
const HEARTBEAT_SETTINGS: [&str; 2] = ["WORKER_HEARTBEAT", "WORKER_HEARTBEAT_TTL"];

/// Variables that a group of containers must agree on.
struct Agreement {
    variables: &'static [&'static str],
    /// The group, as the problem names it.
    who: &'static str,
    member: fn(&Settings) -> bool,
}

const AGREEMENTS: [Agreement; 2] = [
    Agreement {
        variables: &QUEUE_SETTINGS,
        who: "the Redis clients",
        member: Settings::reads_redis,
    },
    Agreement {
        variables: &HEARTBEAT_SETTINGS,
        who: "`worker` and `api`",
        member: Settings::beats_or_judges_beats,
    },
];

/// The probes a container can have, and the route each must ask.
const PROBES: [(&str, Route); 3] = [
    ("startupProbe", Route::Live),
    ("livenessProbe", Route::Live),
    ("readinessProbe", Route::Ready),
];

#[derive(Debug, Clone, Copy)]
enum Route {
    Live,
    Ready,
}

/// Every problem of `objects`, in the order of the objects.
pub fn problems(objects: &Objects, binary: &Binary) -> Vec<String> {
    let mut problems = Vec::new();
    let templates = pod_templates(objects);
    let mut settings = Vec::new();
    for template in &templates {
        for container in template.containers() {
            let at = format!(
                "{}, container {}",
                template.owner,
                container["name"].as_str().unwrap_or("?")
            );
            image(container, binary, &at, &mut problems);
            let env = environment(container, objects, &at, &mut problems);
            let runs = repository(container["image"].as_str().unwrap_or(""));
            if runs == binary.image {
                settings.extend(ours(template, container, &env, binary, &at, &mut problems));
            } else if runs == repository(&binary.redis_image) {
                redis::memory(template, container, objects, &at, &mut problems);
            }
        }
    }
    agreement(&settings, &mut problems);
    services(objects, &mut problems);
    network::policies(objects, &templates, binary, &mut problems);
    ingresses(objects, &mut problems);
    stateful_sets(objects, &mut problems);
    budgets(objects, &mut problems);
    problems
}

/// A pod template and what owns it.
pub struct Template<'a> {
    /// `Deployment worker-deployment`.
    pub owner: String,
    pub namespace: Option<&'a str>,
    pub labels: &'a Yaml,
    pub spec: &'a Yaml,
}

impl Template<'_> {
    /// Its containers.
    pub fn containers(&self) -> impl Iterator<Item = &Yaml> {
        self.spec["containers"].as_vec().into_iter().flatten()
    }
}

/// The command a container of our image runs: `args[0]`, or the image's.
pub fn command_of(container: &Yaml) -> &str {
    container["args"][0].as_str().unwrap_or(DEFAULT_COMMAND)
}

/// The pods that the objects make: the templates of the workload kinds, and bare Pods.
pub fn pod_templates(objects: &Objects) -> Vec<Template<'_>> {
    objects
        .0
        .iter()
        .filter_map(|object| {
            let kind = object["kind"].as_str()?;
            let pod = match kind {
                "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
                    &object["spec"]["template"]
                }
                "CronJob" => &object["spec"]["jobTemplate"]["spec"]["template"],
                "Pod" => object,
                _ => return None,
            };
            Some(Template {
                owner: format!("{kind} {}", object["metadata"]["name"].as_str()?),
                namespace: object["metadata"]["namespace"].as_str(),
                labels: &pod["metadata"]["labels"],
                spec: &pod["spec"],
            })
        })
        .collect()
}

/// Our image with a fixed tag, or the Redis image the lab pulls.
fn image(container: &Yaml, binary: &Binary, at: &str, problems: &mut Vec<String>) {
    let image = container["image"].as_str().unwrap_or("");
    if repository(image) == binary.image {
        if matches!(tag(image), None | Some("latest")) {
            problems.push(format!("{at}: image {image} has no fixed tag"));
        }
    } else if image != binary.redis_image {
        problems.push(format!(
            "{at}: image {image} is neither {}:<tag> nor {}",
            binary.image, binary.redis_image
        ));
    }
}

/// The container's environment: each variable it sets, with its value where the
/// manifests hold it. A reference to a missing ConfigMap, Secret or key is a problem.
fn environment(
    container: &Yaml,
    objects: &Objects,
    at: &str,
    problems: &mut Vec<String>,
) -> BTreeMap<String, Option<String>> {
    let mut env = BTreeMap::new();
    for source in container["envFrom"].as_vec().into_iter().flatten() {
        let prefix = source["prefix"].as_str().unwrap_or("");
        for (kind, reference) in [
            ("ConfigMap", &source["configMapRef"]),
            ("Secret", &source["secretRef"]),
        ] {
            let Some(name) = reference["name"].as_str() else {
                continue;
            };
            match objects.find(kind, name) {
                Some(object) => {
                    for (key, value) in keys(object) {
                        env.insert(format!("{prefix}{key}"), value);
                    }
                }
                None if optional(reference) => {}
                None => problems.push(format!(
                    "{at}: envFrom names {kind} {name}, which is not here"
                )),
            }
        }
    }
    for variable in container["env"].as_vec().into_iter().flatten() {
        let Some(name) = variable["name"].as_str() else {
            continue;
        };
        let value = if let Some(value) = variable["value"].as_str() {
            Some(value.to_owned())
        } else {
            let from = &variable["valueFrom"];
            [
                ("ConfigMap", &from["configMapKeyRef"]),
                ("Secret", &from["secretKeyRef"]),
            ]
            .into_iter()
            .find(|(_, reference)| !reference.is_badvalue())
            .and_then(|(kind, reference)| {
                let (object, key) = (reference["name"].as_str()?, reference["key"].as_str()?);
                let found = objects
                    .find(kind, object)
                    .and_then(|object| keys(object).into_iter().find(|(k, _)| k == key));
                if found.is_none() && !optional(reference) {
                    problems.push(format!(
                        "{at}: {name} comes from key {key} of {kind} {object}, which has no such key"
                    ));
                }
                found.and_then(|(_, value)| value)
            })
        };
        env.insert(name.to_owned(), value);
    }
    env
}

/// The keys of a ConfigMap or Secret, each with its text where it has one.
fn keys(object: &Yaml) -> Vec<(String, Option<String>)> {
    ["data", "stringData", "binaryData"]
        .iter()
        .filter_map(|field| object[*field].as_hash())
        .flatten()
        .filter_map(|(key, value)| {
            let value = (object["kind"].as_str() == Some("ConfigMap"))
                .then(|| value.as_str().map(str::to_owned))
                .flatten();
            Some((key.as_str()?.to_owned(), value))
        })
        .collect()
}

fn optional(reference: &Yaml) -> bool {
    reference["optional"].as_bool() == Some(true)
}

/// What one container of our image runs with: the values, where known, of the
/// variables that must agree across containers.
struct Settings {
    at: String,
    command: String,
    /// Only the variables its command reads.
    values: BTreeMap<&'static str, Option<String>>,
}

impl Settings {
    fn reads_redis(&self) -> bool {
        self.values.contains_key("REDIS_URL")
    }

    fn beats_or_judges_beats(&self) -> bool {
        matches!(self.command.as_str(), "worker" | "api")
    }
}

/// A container of our image: its command, its variables, ports, probes and drain; its
/// settings, for the checks across containers.
fn ours(
    template: &Template<'_>,
    container: &Yaml,
    env: &BTreeMap<String, Option<String>>,
    binary: &Binary,
    at: &str,
    problems: &mut Vec<String>,
) -> Option<Settings> {
    if !container["command"].is_badvalue() {
        problems.push(format!(
            "{at}: `command` replaces the image's entrypoint (the binary); name the subcommand in `args`"
        ));
    }
    let name = command_of(container);
    let Some(command) = binary.commands.get(name) else {
        problems.push(format!(
            "{at}: runs `{name}`, which the binary does not have"
        ));
        return None;
    };
    for variable in env.keys() {
        if !command.env.contains_key(variable) {
            problems.push(format!(
                "{at}: sets {variable}, which `{name}` does not read"
            ));
        }
    }
    // Redis demands a password: a client that reads where Redis is must be told both.
    if command.env.contains_key("REDIS_URL") {
        for needed in ["REDIS_URL", "REDIS_PASSWORD"] {
            if !env.contains_key(needed) {
                problems.push(format!("{at}: `{name}` needs {needed}, which is not set"));
            }
        }
    }
    // A value the manifests set, or else the image's, or else the binary's default. A
    // value the manifests set but hold elsewhere (a Secret) is not known.
    let value = |variable: &str| -> Option<String> {
        match env.get(variable) {
            Some(value) => value.clone(),
            None => binary
                .image_env
                .get(variable)
                .cloned()
                .or_else(|| command.env.get(variable).cloned().flatten()),
        }
    };
    ports_and_probes(container, name, &value, at, problems);
    drain(template, container, name, &value, at, problems);
    let values = QUEUE_SETTINGS
        .into_iter()
        .chain(HEARTBEAT_SETTINGS)
        .filter(|variable| command.env.contains_key(*variable))
        .map(|variable| (variable, value(variable)))
        .collect();
    Some(Settings {
        at: at.to_owned(),
        command: name.to_owned(),
        values,
    })
}

/// The clients of the queue agree on where and what it is, and the workers and the status
/// API on heartbeats: else they would work different queues, or a live worker would count
/// as gone. A value not known here (from a Secret) is left out.
fn agreement(settings: &[Settings], problems: &mut Vec<String>) {
    for Agreement {
        variables,
        who,
        member,
    } in AGREEMENTS
    {
        for variable in variables {
            let mut by_value: BTreeMap<String, Vec<&str>> = BTreeMap::new();
            for one in settings.iter().filter(|one| member(one)) {
                if let Some(Some(value)) = one.values.get(variable) {
                    by_value.entry(same(value)).or_default().push(&one.at);
                }
            }
            if by_value.len() > 1 {
                let listed: Vec<String> = by_value
                    .iter()
                    .map(|(value, places)| format!("{value} ({})", places.join("; ")))
                    .collect();
                problems.push(format!(
                    "{who} disagree on {variable}: {}",
                    listed.join(", ")
                ));
            }
        }
    }
}

/// A value as compared: a number by its value ("30" and "30.0" agree), else the text.
fn same(value: &str) -> String {
    value
        .parse::<f64>()
        .map_or_else(|_| value.to_owned(), |number| number.to_string())
}

/// The ports the container declares and the probes it has, against where the command
/// listens and what it answers.
fn ports_and_probes(
    container: &Yaml,
    name: &str,
    value: &dyn Fn(&str) -> Option<String>,
    at: &str,
    problems: &mut Vec<String>,
) {
    let declared: Vec<(Option<&str>, i64)> = container["ports"]
        .as_vec()
        .into_iter()
        .flatten()
        .filter_map(|port| Some((port["name"].as_str(), port["containerPort"].as_i64()?)))
        .collect();
    let Some(http) = Binary::http(name) else {
        for (_, port) in &declared {
            problems.push(format!(
                "{at}: declares containerPort {port}, but `{name}` serves nothing"
            ));
        }
        for (probe, _) in PROBES {
            if !container[probe].is_badvalue() {
                problems.push(format!("{at}: has a {probe}, but `{name}` serves nothing"));
            }
        }
        return;
    };
    let listen = value(http.listen_env).and_then(|text| text.parse::<SocketAddr>().ok());
    let Some(listen) = listen else {
        problems.push(format!("{at}: {} is not an address", http.listen_env));
        return;
    };
    if listen.ip().is_loopback() {
        problems.push(format!(
            "{at}: {} is {listen}, the pod's loopback: neither the kubelet's probes nor a Service reach it",
            http.listen_env
        ));
    }
    let port = i64::from(listen.port());
    for (_, other) in declared.iter().filter(|(_, p)| *p != port) {
        problems.push(format!(
            "{at}: containerPort {other} is not where `{name}` listens ({} port {port})",
            http.listen_env
        ));
    }
    if !declared.iter().any(|(_, p)| *p == port) {
        problems.push(format!(
            "{at}: declares no containerPort {port}, where `{name}` listens ({})",
            http.listen_env
        ));
    }
    for (probe, route) in PROBES {
        let spec = &container[probe];
        if spec.is_badvalue() {
            continue;
        }
        let get = &spec["httpGet"];
        if get.is_badvalue() {
            problems.push(format!(
                "{at}: {probe} is not an httpGet: the image has no shell or tools to exec"
            ));
            continue;
        }
        let path = get["path"].as_str().unwrap_or("/");
        let wanted = match route {
            Route::Live => http.live,
            Route::Ready => http.ready,
        };
        if !http.routes.contains(&path) {
            problems.push(format!(
                "{at}: {probe} path {path} is not served by `{name}` (it serves {})",
                http.routes.join(", ")
            ));
        } else if path != wanted {
            problems.push(format!("{at}: {probe} asks {path}; it should ask {wanted}"));
        }
        let waits = spec["timeoutSeconds"].as_i64();
        if let Route::Ready = route
            && let Some(deadline) = http.ready_deadline
            && waits.unwrap_or(DEFAULT_PROBE_TIMEOUT) * 1000 <= deadline.as_millis() as i64
        {
            let default = if waits.is_none() {
                " (the default)"
            } else {
                ""
            };
            problems.push(format!(
                "{at}: {probe} timeoutSeconds {}{default} is not more than {wanted}'s own deadline of {} s: the kubelet would give up before a slow answer, and count it as a failure",
                waits.unwrap_or(DEFAULT_PROBE_TIMEOUT),
                deadline.as_secs_f64()
            ));
        }
        let number = match &get["port"] {
            Yaml::Integer(number) => Some(*number),
            Yaml::String(port_name) => {
                let found = declared
                    .iter()
                    .find(|(n, _)| *n == Some(port_name.as_str()));
                if found.is_none() {
                    problems.push(format!(
                        "{at}: {probe} port {port_name} is not a port of the container"
                    ));
                }
                found.map(|(_, number)| *number)
            }
            _ => None,
        };
        if let Some(number) = number.filter(|number| *number != port) {
            problems.push(format!(
                "{at}: {probe} port {number} is not where `{name}` listens ({port})"
            ));
        }
    }
}

/// Stopping: the kubelet's SIGKILL must come after preStop, the command's drain and the
/// rest of its shutdown, and a worker's drain must outlast a task.
fn drain(
    template: &Template<'_>,
    container: &Yaml,
    name: &str,
    value: &dyn Fn(&str) -> Option<String>,
    at: &str,
    problems: &mut Vec<String>,
) {
    let pre_stop = &container["lifecycle"]["preStop"];
    let sleep = if pre_stop.is_badvalue() {
        0
    } else if let Some(seconds) = pre_stop["sleep"]["seconds"].as_i64() {
        seconds
    } else {
        problems.push(format!(
            "{at}: preStop must be a sleep action: the image has no shell or tools to exec"
        ));
        0
    };
    let Some(grace_env) = Binary::grace_env(name) else {
        return;
    };
    let seconds = |variable: &str| value(variable).and_then(|text| text.parse::<f64>().ok());
    let Some(grace) = seconds(grace_env) else {
        problems.push(format!("{at}: {grace_env} is not a number of seconds"));
        return;
    };
    let period = template.spec["terminationGracePeriodSeconds"]
        .as_i64()
        .unwrap_or(DEFAULT_GRACE_PERIOD);
    if (period as f64) < (sleep + SHUTDOWN_MARGIN) as f64 + grace {
        problems.push(format!(
            "{}: terminationGracePeriodSeconds {period} is less than preStop {sleep} s + {grace_env} {grace} s + {SHUTDOWN_MARGIN} s for the rest of the shutdown: SIGKILL would cut the drain short",
            template.owner
        ));
    }
    if let Some(task) = seconds("TASK_TIMEOUT").filter(|task| *task > grace)
        && name == "worker"
    {
        problems.push(format!(
            "{at}: {grace_env} {grace} s is shorter than TASK_TIMEOUT {task} s: a stopping worker could cut a task short"
        ));
    }
}

/// The templates whose labels include every pair of `selector` (a Service's), in
/// `namespace`.
pub fn selected<'a>(
    templates: &'a [Template<'a>],
    namespace: Option<&str>,
    selector: &Yaml,
) -> Vec<&'a Template<'a>> {
    let Some(pairs) = selector.as_hash() else {
        return Vec::new();
    };
    templates
        .iter()
        .filter(|template| template.namespace == namespace)
        .filter(|template| {
            pairs
                .iter()
                .all(|(key, value)| template.labels[key.as_str().unwrap_or("")] == *value)
        })
        .collect()
}

fn pairs(selector: &Yaml) -> String {
    let mut text = String::new();
    for (key, value) in selector.as_hash().into_iter().flatten() {
        let separator = if text.is_empty() { "" } else { "," };
        let _ = write!(
            text,
            "{separator}{}={}",
            key.as_str().unwrap_or("?"),
            value.as_str().unwrap_or("?")
        );
    }
    text
}

/// Each Service selects a pod, and every pod it selects has its target ports.
fn services(objects: &Objects, problems: &mut Vec<String>) {
    let templates = pod_templates(objects);
    for service in objects.of_kind("Service") {
        let name = service["metadata"]["name"].as_str().unwrap_or("?");
        let selector = &service["spec"]["selector"];
        // A Service without a selector has its endpoints made by hand: nothing to check.
        if selector.is_badvalue() {
            continue;
        }
        let chosen = selected(
            &templates,
            service["metadata"]["namespace"].as_str(),
            selector,
        );
        if chosen.is_empty() {
            problems.push(format!(
                "Service {name} selects no pod ({})",
                pairs(selector)
            ));
        }
        for port in service["spec"]["ports"].as_vec().into_iter().flatten() {
            let target = match &port["targetPort"] {
                Yaml::BadValue => port["port"].clone(),
                other => other.clone(),
            };
            for template in &chosen {
                let declares = template.spec["containers"]
                    .as_vec()
                    .into_iter()
                    .flatten()
                    .flat_map(|container| container["ports"].as_vec().into_iter().flatten())
                    .any(|declared| match &target {
                        Yaml::String(_) => declared["name"] == target,
                        _ => declared["containerPort"] == target,
                    });
                if !declares {
                    let shown = target
                        .as_str()
                        .map(str::to_owned)
                        .or_else(|| target.as_i64().map(|n| n.to_string()))
                        .unwrap_or_default();
                    problems.push(format!(
                        "Service {name}: targetPort {shown} is not a port of {}",
                        template.owner
                    ));
                }
            }
        }
    }
}

/// Each Ingress backend is a Service here, by one of its ports.
fn ingresses(objects: &Objects, problems: &mut Vec<String>) {
    for ingress in objects.of_kind("Ingress") {
        let name = ingress["metadata"]["name"].as_str().unwrap_or("?");
        let rules = ingress["spec"]["rules"].as_vec().into_iter().flatten();
        let paths = rules.flat_map(|rule| rule["http"]["paths"].as_vec().into_iter().flatten());
        for path in paths {
            let backend = &path["backend"]["service"];
            let service_name = backend["name"].as_str().unwrap_or("?");
            let Some(service) = objects.find("Service", service_name) else {
                problems.push(format!(
                    "Ingress {name}: backend {service_name} is not a Service here"
                ));
                continue;
            };
            let port = &backend["port"];
            let found = service["spec"]["ports"]
                .as_vec()
                .into_iter()
                .flatten()
                .any(|p| {
                    (!port["name"].is_badvalue() && p["name"] == port["name"])
                        || (!port["number"].is_badvalue() && p["port"] == port["number"])
                });
            if !found {
                problems.push(format!(
                    "Ingress {name}: Service {service_name} has no such port"
                ));
            }
        }
    }
}

/// Each StatefulSet's `serviceName` is a headless Service that selects its pods.
fn stateful_sets(objects: &Objects, problems: &mut Vec<String>) {
    for set in objects.of_kind("StatefulSet") {
        let name = set["metadata"]["name"].as_str().unwrap_or("?");
        let service_name = set["spec"]["serviceName"].as_str().unwrap_or("?");
        let headless = objects
            .find("Service", service_name)
            .is_some_and(|service| service["spec"]["clusterIP"].as_str() == Some("None"));
        if !headless {
            problems.push(format!(
                "StatefulSet {name}: serviceName {service_name} is not a headless Service here"
            ));
        }
    }
}

/// Each PodDisruptionBudget counts some pods.
fn budgets(objects: &Objects, problems: &mut Vec<String>) {
    let templates = pod_templates(objects);
    for budget in objects.of_kind("PodDisruptionBudget") {
        let name = budget["metadata"]["name"].as_str().unwrap_or("?");
        let namespace = budget["metadata"]["namespace"].as_str();
        let selector = &budget["spec"]["selector"];
        let counts = templates.iter().any(|template| {
            template.namespace == namespace && selector::matches(selector, template.labels)
        });
        if !counts {
            problems.push(format!(
                "PodDisruptionBudget {name} selects no pod ({})",
                pairs(&selector["matchLabels"])
            ));
        }
    }
}
