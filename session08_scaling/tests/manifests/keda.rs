//! KEDA's objects, checked here because kubernetes-validate has no schema for them: only
//! fields KEDA 2.17's CRDs define (a misspelt field would be dropped by the API server,
//! silently), a target the render has, a trigger per stream the load fills, read in the
//! workers' consumer group, at Redis's Service, with a password from a Secret key that
//! exists, and a NetworkPolicy that lets KEDA's operator reach Redis.

use yaml_rust2::Yaml;

use super::reading::{admitted, redis_pod, text, yaml};
use super::render::Objects;
use super::scaled::target_problems;
use super::selector::matches;

/// The keys an object may have: a map of known keys, a list of one shape, or anything.
enum Shape {
    Map(&'static [(&'static str, Shape)]),
    List(&'static Shape),
    Any,
}

const POLICY: Shape = Shape::Map(&[
    ("type", Shape::Any),
    ("value", Shape::Any),
    ("periodSeconds", Shape::Any),
]);
const RULES: Shape = Shape::Map(&[
    ("stabilizationWindowSeconds", Shape::Any),
    ("selectPolicy", Shape::Any),
    ("policies", Shape::List(&POLICY)),
]);
const TRIGGER: Shape = Shape::Map(&[
    ("type", Shape::Any),
    ("name", Shape::Any),
    // Which keys depends on the trigger's type: checked by `METADATA`.
    ("metadata", Shape::Any),
    (
        "authenticationRef",
        Shape::Map(&[("name", Shape::Any), ("kind", Shape::Any)]),
    ),
    ("metricType", Shape::Any),
    ("useCachedMetrics", Shape::Any),
]);

/// A ScaledObject's `spec` (KEDA 2.17, `keda.sh_scaledobjects.yaml`).
const SCALED_OBJECT: Shape = Shape::Map(&[
    (
        "scaleTargetRef",
        Shape::Map(&[
            ("apiVersion", Shape::Any),
            ("kind", Shape::Any),
            ("name", Shape::Any),
            ("envSourceContainerName", Shape::Any),
        ]),
    ),
    ("pollingInterval", Shape::Any),
    ("cooldownPeriod", Shape::Any),
    ("initialCooldownPeriod", Shape::Any),
    ("idleReplicaCount", Shape::Any),
    ("minReplicaCount", Shape::Any),
    ("maxReplicaCount", Shape::Any),
    ("fallback", Shape::Any),
    (
        "advanced",
        Shape::Map(&[
            ("restoreToOriginalReplicaCount", Shape::Any),
            ("scalingModifiers", Shape::Any),
            (
                "horizontalPodAutoscalerConfig",
                Shape::Map(&[
                    ("name", Shape::Any),
                    (
                        "behavior",
                        Shape::Map(&[("scaleUp", RULES), ("scaleDown", RULES)]),
                    ),
                ]),
            ),
        ]),
    ),
    ("triggers", Shape::List(&TRIGGER)),
]);

/// A TriggerAuthentication's `spec`, as far as the course uses it (a Secret's keys).
const TRIGGER_AUTHENTICATION: Shape = Shape::Map(&[(
    "secretTargetRef",
    Shape::List(&Shape::Map(&[
        ("parameter", Shape::Any),
        ("name", Shape::Any),
        ("key", Shape::Any),
    ])),
)]);

/// The metadata each trigger type reads, and the authentication parameters it takes
/// (KEDA 2.17's `redisConnectionInfo`, `redisStreamsMetadata` and `cpuMemoryMetadata`). A
/// key ending in `FromEnv` names an environment variable of the target's container.
const METADATA: [(&str, &[&str], &[&str]); 2] = [
    (
        "redis-streams",
        &[
            "address",
            "addresses",
            "host",
            "hosts",
            "port",
            "ports",
            "username",
            "password",
            "addressFromEnv",
            "addressesFromEnv",
            "hostFromEnv",
            "hostsFromEnv",
            "portFromEnv",
            "portsFromEnv",
            "usernameFromEnv",
            "passwordFromEnv",
            "stream",
            "consumerGroup",
            "pendingEntriesCount",
            "streamLength",
            "lagCount",
            "activationLagCount",
            "databaseIndex",
            "enableTLS",
            "unsafeSsl",
        ],
        &[
            "address",
            "addresses",
            "host",
            "hosts",
            "port",
            "ports",
            "username",
            "password",
            "tls",
            "ca",
            "cert",
            "key",
            "keyPassword",
        ],
    ),
    ("cpu", &["value", "containerName"], &[]),
];

/// The namespace KEDA's operator runs in, and its pods' label.
pub const KEDA_NAMESPACE: &str = "keda";
const OPERATOR_LABEL: (&str, &str) = ("app", "keda-operator");

/// The keys of `value` that `shape` does not have, as paths under `at`.
fn unknown_fields(value: &Yaml, shape: &Shape, at: &str, found: &mut Vec<String>) {
    match (shape, value) {
        (Shape::Map(fields), Yaml::Hash(hash)) => {
            for (key, inner) in hash {
                let key = key.as_str().unwrap_or("?");
                match fields.iter().find(|(name, _)| *name == key) {
                    Some((_, shape)) => unknown_fields(inner, shape, &format!("{at}.{key}"), found),
                    None => found.push(format!("{at}.{key}")),
                }
            }
        }
        (Shape::List(shape), Yaml::Array(items)) => {
            for (n, item) in items.iter().enumerate() {
                unknown_fields(item, shape, &format!("{at}[{n}]"), found);
            }
        }
        _ => {}
    }
}

/// The problems of the KEDA render: `streams` are the streams the load's tasks wait in.
pub fn keda_problems(objects: &Objects, streams: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    for hpa in objects.of_kind("HorizontalPodAutoscaler") {
        problems.push(format!(
            "the render has HorizontalPodAutoscaler {} too: KEDA makes its own, and two would \
             fight over the Deployment",
            hpa["metadata"]["name"].as_str().unwrap_or("?")
        ));
    }
    for auth in objects.of_kind("TriggerAuthentication") {
        problems.extend(authentication_problems(objects, auth));
    }
    let scaled: Vec<&Yaml> = objects.of_kind("ScaledObject").collect();
    if scaled.is_empty() {
        problems.push("the render has no ScaledObject".to_owned());
    }
    let mut read = Vec::new();
    for object in scaled {
        problems.extend(scaled_object_problems(objects, object, &mut read));
    }
    for stream in streams {
        if !read.contains(stream) {
            problems.push(format!(
                "no redis-streams trigger reads {stream}, where the load's tasks wait"
            ));
        }
    }
    for stream in &read {
        if !streams.contains(stream) {
            problems.push(format!(
                "a redis-streams trigger reads {stream}, where no task of the load goes (it \
                 goes to {})",
                streams.join(", ")
            ));
        }
    }
    problems
}

/// One ScaledObject's problems; the streams its triggers read are added to `read`.
fn scaled_object_problems(objects: &Objects, object: &Yaml, read: &mut Vec<String>) -> Vec<String> {
    let owner = format!(
        "ScaledObject {}",
        object["metadata"]["name"].as_str().unwrap_or("?")
    );
    let spec = &object["spec"];
    let mut unknown = Vec::new();
    unknown_fields(spec, &SCALED_OBJECT, "spec", &mut unknown);
    let mut problems: Vec<String> = unknown
        .into_iter()
        .map(|path| format!("{owner}: {path} is not a field of a ScaledObject"))
        .collect();
    let (min, max) = (
        spec["minReplicaCount"].as_i64().unwrap_or(0),
        spec["maxReplicaCount"].as_i64().unwrap_or(100),
    );
    if !(0..=max).contains(&min) {
        problems.push(format!(
            "{owner}: minReplicaCount {min} must be at least 0 and at most maxReplicaCount {max}"
        ));
    }
    let triggers = spec["triggers"].as_vec().map_or(&[][..], Vec::as_slice);
    let mut utilization = Vec::new();
    for (n, trigger) in triggers.iter().enumerate() {
        let at = format!("{owner}, trigger {n}");
        let kind = trigger["type"].as_str().unwrap_or("?");
        let Some((_, known, _)) = METADATA.iter().find(|(name, _, _)| *name == kind) else {
            problems.push(format!("{at}: the course uses no trigger of type {kind}"));
            continue;
        };
        for key in trigger["metadata"]
            .as_hash()
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
        {
            let key = key.as_str().unwrap_or("?");
            if !known.contains(&key) {
                problems.push(format!("{at}: {kind} reads no metadata {key}"));
            }
        }
        match kind {
            "cpu" => match trigger["metricType"].as_str() {
                Some("Utilization") => utilization.push("cpu".to_owned()),
                Some("AverageValue") => {}
                other => problems.push(format!(
                    "{at}: a cpu trigger needs metricType Utilization or AverageValue, not {}",
                    other.unwrap_or("(none)")
                )),
            },
            _ => {
                problems.extend(stream_problems(objects, trigger, &at));
                if let Some(stream) = trigger["metadata"]["stream"].as_str() {
                    read.push(stream.to_owned());
                }
            }
        }
    }
    problems.extend(target_problems(
        objects,
        &owner,
        &spec["scaleTargetRef"],
        &utilization,
    ));
    problems
}

/// A redis-streams trigger's problems: its group, its lag target, where it connects, and
/// how it authenticates.
fn stream_problems(objects: &Objects, trigger: &Yaml, at: &str) -> Vec<String> {
    let metadata = &trigger["metadata"];
    let mut problems = Vec::new();
    let group = metadata["consumerGroup"].as_str().unwrap_or("(none)");
    if group != session04_redis::queue::GROUP {
        problems.push(format!(
            "{at}: consumerGroup {group} is not the workers' group, {}",
            session04_redis::queue::GROUP
        ));
    }
    let lag = metadata["lagCount"]
        .as_str()
        .and_then(|n| n.parse::<u64>().ok());
    if lag.is_none_or(|lag| lag == 0) {
        problems.push(format!(
            "{at}: lagCount must be a number above 0, in quotes (KEDA's metadata is text); \
             without it KEDA counts pending entries, not the lag"
        ));
    } else if lag.map(|lag| lag as f64) != Some(crate::autoscaler_target_lag()) {
        problems.push(format!(
            "{at}: lagCount {} is not the local autoscaler's --target-lag, {}",
            lag.unwrap_or_default(),
            crate::autoscaler_target_lag()
        ));
    }
    match redis_address(objects) {
        Ok(expected) => {
            let address = metadata["address"].as_str().unwrap_or("(none)");
            if address != expected {
                problems.push(format!(
                    "{at}: address {address} is not Redis's Service as KEDA's namespace sees \
                     it, {expected}"
                ));
            }
        }
        Err(problem) => problems.push(format!("{at}: {problem}")),
    }
    let auth = trigger["authenticationRef"]["name"]
        .as_str()
        .unwrap_or("(none)");
    match objects.find("TriggerAuthentication", auth) {
        Some(found) => {
            let password = found["spec"]["secretTargetRef"]
                .as_vec()
                .into_iter()
                .flatten()
                .any(|entry| entry["parameter"].as_str() == Some("password"));
            if !password {
                problems.push(format!(
                    "{at}: TriggerAuthentication {auth} gives no password, and Redis asks one"
                ));
            }
        }
        None => problems.push(format!(
            "{at}: authenticationRef {auth} names no TriggerAuthentication of the render"
        )),
    }
    if !keda_reaches_redis(objects) {
        problems.push(format!(
            "{at}: no NetworkPolicy lets KEDA's operator (namespace {KEDA_NAMESPACE}) reach \
             Redis: its queries would time out"
        ));
    }
    problems
}

/// `host.namespace.svc.cluster.local:port` of the Service the clients' REDIS_URL names
/// (in the ConfigMap), once the render has that Service with that port.
fn redis_address(objects: &Objects) -> Result<String, String> {
    let config = objects
        .find("ConfigMap", "app-config")
        .ok_or("the render has no ConfigMap app-config")?;
    let url = config["data"]["REDIS_URL"]
        .as_str()
        .ok_or("the ConfigMap has no REDIS_URL")?;
    let (host, port) = url
        .strip_prefix("redis://")
        .and_then(|rest| rest.split_once(':'))
        .ok_or_else(|| format!("REDIS_URL {url} is not redis://HOST:PORT"))?;
    let service = objects
        .find("Service", host)
        .ok_or_else(|| format!("REDIS_URL names Service {host}, which the render lacks"))?;
    let namespace = service["metadata"]["namespace"]
        .as_str()
        .unwrap_or("default");
    let has_port = service["spec"]["ports"]
        .as_vec()
        .into_iter()
        .flatten()
        .any(|entry| text(&entry["port"]).as_deref() == Some(port));
    if !has_port {
        return Err(format!("Service {host} has no port {port}"));
    }
    Ok(format!("{host}.{namespace}.svc.cluster.local:{port}"))
}

/// A TriggerAuthentication's problems: its fields, and the Secret keys it reads.
fn authentication_problems(objects: &Objects, auth: &Yaml) -> Vec<String> {
    let owner = format!(
        "TriggerAuthentication {}",
        auth["metadata"]["name"].as_str().unwrap_or("?")
    );
    let mut unknown = Vec::new();
    unknown_fields(&auth["spec"], &TRIGGER_AUTHENTICATION, "spec", &mut unknown);
    let mut problems: Vec<String> = unknown
        .into_iter()
        .map(|path| format!("{owner}: {path} is not a field the course's checks know"))
        .collect();
    let parameters: Vec<&str> = METADATA
        .iter()
        .flat_map(|(_, _, parameters)| parameters.iter().copied())
        .collect();
    for entry in auth["spec"]["secretTargetRef"]
        .as_vec()
        .into_iter()
        .flatten()
    {
        let parameter = entry["parameter"].as_str().unwrap_or("?");
        if !parameters.contains(&parameter) {
            problems.push(format!("{owner}: no trigger takes a parameter {parameter}"));
        }
        let (name, key) = (
            entry["name"].as_str().unwrap_or("?"),
            entry["key"].as_str().unwrap_or("?"),
        );
        match objects.find("Secret", name) {
            Some(secret) if !secret["data"][key].is_badvalue() => {}
            Some(_) => problems.push(format!(
                "{owner}: {parameter} comes from key {key} of Secret {name}, which has no such key"
            )),
            None => problems.push(format!(
                "{owner}: {parameter} comes from Secret {name}, which the render does not have"
            )),
        }
    }
    problems
}

/// Whether a NetworkPolicy on Redis's pods lets in KEDA's operator on Redis's port.
fn keda_reaches_redis(objects: &Objects) -> bool {
    let Some((labels, port)) = redis_pod(objects) else {
        return false;
    };
    let operator = yaml(&format!("{{{}: {}}}", OPERATOR_LABEL.0, OPERATOR_LABEL.1));
    let namespace = yaml(&format!(
        "{{kubernetes.io/metadata.name: {KEDA_NAMESPACE}}}"
    ));
    admitted(objects.of_kind("NetworkPolicy"), labels, port, |peer| {
        // Both selectors in one peer: the operator's pods in KEDA's namespace. A peer with
        // no namespaceSelector is in the policy's own namespace.
        !peer["namespaceSelector"].is_badvalue()
            && matches(&peer["namespaceSelector"], &namespace)
            && matches(&peer["podSelector"], &operator)
    })
}
