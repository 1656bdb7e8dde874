//! The monitoring overlay's own checks: every pod that should be scraped asks for it on
//! the port where its command serves `/metrics`; Prometheus may list those pods (its
//! ServiceAccount's role), may connect to them (the NetworkPolicies), and runs with the
//! configuration and alert rules of `monitoring/`. Each problem is a sentence that names
//! the object and the field.

use std::path::Path;

use yaml_rust2::{Yaml, YamlLoader};

use super::render::Objects;
use super::selector;

/// The path both commands serve their metrics on: the binary's own.
pub const METRICS_PATH: &str = session09_monitoring::telemetry::METRICS;
/// The Deployments that must be scraped: each with its command's listen variable.
pub const SCRAPED: [(&str, &str); 2] = [
    ("worker-deployment", "PROBE_LISTEN"),
    ("status-api-deployment", "API_LISTEN"),
];
/// Prometheus's Deployment.
pub const PROMETHEUS: &str = "prometheus";

/// A pod template's annotation.
fn annotation<'a>(deployment: &'a Yaml, key: &str) -> Option<&'a str> {
    deployment["spec"]["template"]["metadata"]["annotations"][key].as_str()
}

/// Every problem of the render; `monitoring` is the crate's `monitoring/` folder.
pub fn problems(objects: &Objects, monitoring: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let prometheus = objects.find("Deployment", PROMETHEUS);
    let Some(prometheus) = prometheus else {
        return vec![format!("the render has no Deployment {PROMETHEUS}")];
    };
    let config = configuration(objects, prometheus, monitoring, &mut problems);
    let namespaces = config
        .as_ref()
        .map(|config| {
            config["scrape_configs"][0]["kubernetes_sd_configs"][0]["namespaces"]["names"]
                .as_vec()
                .into_iter()
                .flatten()
                .filter_map(Yaml::as_str)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    for (name, listen) in SCRAPED {
        let Some(deployment) = objects.find("Deployment", name) else {
            problems.push(format!("the render has no Deployment {name}"));
            continue;
        };
        scraped(
            objects,
            deployment,
            listen,
            prometheus,
            &namespaces,
            &mut problems,
        );
    }
    discovery(objects, prometheus, &namespaces, &mut problems);
    problems
}

/// One Deployment to scrape: asks for it, on its metrics port, and Prometheus may reach it.
fn scraped(
    objects: &Objects,
    deployment: &Yaml,
    listen: &str,
    prometheus: &Yaml,
    namespaces: &[String],
    problems: &mut Vec<String>,
) {
    let name = deployment["metadata"]["name"].as_str().unwrap_or("?");
    let at = format!("Deployment {name}");
    if annotation(deployment, "prometheus.io/scrape") != Some("true") {
        problems.push(format!(
            "{at}: its pods lack prometheus.io/scrape: \"true\", so Prometheus skips them"
        ));
        return;
    }
    if annotation(deployment, "prometheus.io/path") != Some(METRICS_PATH) {
        problems.push(format!(
            "{at}: prometheus.io/path is not {METRICS_PATH}, where the binary serves its metrics"
        ));
    }
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let listens = container["env"]
        .as_vec()
        .into_iter()
        .flatten()
        .find(|var| var["name"].as_str() == Some(listen))
        .and_then(|var| var["value"].as_str())
        .and_then(|address| address.rsplit_once(':'))
        .and_then(|(_, port)| port.parse::<i64>().ok());
    let port =
        annotation(deployment, "prometheus.io/port").and_then(|port| port.parse::<i64>().ok());
    match (port, listens) {
        (None, _) => problems.push(format!("{at}: prometheus.io/port is not a port number")),
        (Some(port), Some(listens)) if port != listens => problems.push(format!(
            "{at}: prometheus.io/port is {port}, but {listen} makes it listen on {listens}"
        )),
        (Some(_), None) => problems.push(format!("{at}: sets no {listen} with a port")),
        (Some(port), Some(_)) => reachable(objects, deployment, port, prometheus, &at, problems),
    }
    let namespace = deployment["metadata"]["namespace"]
        .as_str()
        .unwrap_or("default");
    if !namespaces.iter().any(|found| found == namespace) {
        problems.push(format!(
            "{at}: in namespace {namespace}, where Prometheus does not look ({namespaces:?})"
        ));
    }
}

/// Whether the NetworkPolicies let Prometheus's pods reach `port` of the Deployment's.
fn reachable(
    objects: &Objects,
    deployment: &Yaml,
    port: i64,
    prometheus: &Yaml,
    at: &str,
    problems: &mut Vec<String>,
) {
    let namespace = deployment["metadata"]["namespace"].as_str();
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    let from = &prometheus["spec"]["template"]["metadata"]["labels"];
    let same_namespace = prometheus["metadata"]["namespace"].as_str() == namespace;
    let isolating: Vec<&Yaml> = objects
        .of_kind("NetworkPolicy")
        .filter(|policy| policy["metadata"]["namespace"].as_str() == namespace)
        .filter(|policy| selector::matches(&policy["spec"]["podSelector"], labels))
        .collect();
    let any_or = |list: &Yaml, each: &dyn Fn(&Yaml) -> bool| match list.as_vec() {
        Some(entries) if !entries.is_empty() => entries.iter().any(each),
        _ => true,
    };
    let allowed = isolating.is_empty()
        || isolating.iter().any(|policy| {
            policy["spec"]["ingress"]
                .as_vec()
                .into_iter()
                .flatten()
                .any(|rule| {
                    any_or(&rule["ports"], &|entry| {
                        entry["port"].as_i64().is_none_or(|allowed| allowed == port)
                    }) && any_or(&rule["from"], &|peer| {
                        peer["namespaceSelector"].is_badvalue()
                            && same_namespace
                            && selector::matches(&peer["podSelector"], from)
                    })
                })
        });
    if !allowed {
        problems.push(format!(
            "{at}: no NetworkPolicy lets Prometheus reach port {port}: every scrape would time out"
        ));
    }
}

/// Prometheus's ServiceAccount may list and watch pods where it looks.
fn discovery(
    objects: &Objects,
    prometheus: &Yaml,
    namespaces: &[String],
    problems: &mut Vec<String>,
) {
    let spec = &prometheus["spec"]["template"]["spec"];
    let account = spec["serviceAccountName"].as_str().unwrap_or("default");
    let home = prometheus["metadata"]["namespace"]
        .as_str()
        .unwrap_or("default");
    if spec["automountServiceAccountToken"].as_bool() == Some(false) {
        problems.push(format!(
            "Deployment {PROMETHEUS}: mounts no ServiceAccount token, so it cannot ask the API server for pods"
        ));
    }
    for namespace in namespaces {
        let granted = ["RoleBinding", "ClusterRoleBinding"].iter().any(|kind| {
            objects.of_kind(kind).any(|binding| {
                let binds = binding["subjects"]
                    .as_vec()
                    .into_iter()
                    .flatten()
                    .any(|subject| {
                        subject["kind"].as_str() == Some("ServiceAccount")
                            && subject["name"].as_str() == Some(account)
                            && subject["namespace"].as_str() == Some(home)
                    });
                let in_place = *kind == "ClusterRoleBinding"
                    || binding["metadata"]["namespace"].as_str() == Some(namespace.as_str());
                let role_kind = binding["roleRef"]["kind"].as_str().unwrap_or("?");
                let role = objects.of_kind(role_kind).find(|role| {
                    role["metadata"]["name"] == binding["roleRef"]["name"]
                        && (role_kind == "ClusterRole"
                            || role["metadata"]["namespace"] == binding["metadata"]["namespace"])
                });
                binds && in_place && role.is_some_and(lists_pods)
            })
        });
        if !granted {
            problems.push(format!(
                "ServiceAccount {account}: no role lets it list and watch pods in {namespace}, so Prometheus finds no target"
            ));
        }
    }
}

/// Whether a Role or ClusterRole grants get, list and watch on pods.
fn lists_pods(role: &Yaml) -> bool {
    role["rules"].as_vec().into_iter().flatten().any(|rule| {
        let has = |field: &str, wanted: &str| {
            rule[field]
                .as_vec()
                .into_iter()
                .flatten()
                .any(|value| value.as_str() == Some(wanted) || value.as_str() == Some("*"))
        };
        has("apiGroups", "")
            && has("resources", "pods")
            && ["get", "list", "watch"]
                .iter()
                .all(|verb| has("verbs", verb))
    })
}

/// The configuration Prometheus runs with: the ConfigMap mounted where `--config.file`
/// points holds `monitoring/`'s files, unchanged. Returns it, parsed.
fn configuration(
    objects: &Objects,
    prometheus: &Yaml,
    monitoring: &Path,
    problems: &mut Vec<String>,
) -> Option<Yaml> {
    let spec = &prometheus["spec"]["template"]["spec"];
    let container = &spec["containers"][0];
    let file = container["args"]
        .as_vec()
        .into_iter()
        .flatten()
        .filter_map(Yaml::as_str)
        .find_map(|arg| arg.strip_prefix("--config.file="))?;
    let (dir, name) = file.rsplit_once('/')?;
    let mount = container["volumeMounts"]
        .as_vec()
        .into_iter()
        .flatten()
        .find(|mount| mount["mountPath"].as_str() == Some(dir));
    let Some(mount) = mount else {
        problems.push(format!(
            "Deployment {PROMETHEUS}: nothing is mounted at {dir}, where --config.file is"
        ));
        return None;
    };
    let volume = spec["volumes"]
        .as_vec()
        .into_iter()
        .flatten()
        .find(|volume| volume["name"] == mount["name"]);
    let map_name = volume.and_then(|volume| volume["configMap"]["name"].as_str())?;
    let namespace = &prometheus["metadata"]["namespace"];
    let Some(map) = objects.of_kind("ConfigMap").find(|map| {
        map["metadata"]["name"].as_str() == Some(map_name)
            && map["metadata"]["namespace"] == *namespace
    }) else {
        problems.push(format!(
            "Deployment {PROMETHEUS}: mounts ConfigMap {map_name}, which the render does not have"
        ));
        return None;
    };
    for (key, source) in [
        (name, "prometheus-kubernetes.yml"),
        ("alerts.yml", "alerts.yml"),
    ] {
        let expected = std::fs::read_to_string(monitoring.join(source)).unwrap_or_default();
        if map["data"][key].as_str() != Some(expected.as_str()) {
            problems.push(format!(
                "ConfigMap {map_name}: {key} is not monitoring/{source} as it is"
            ));
        }
    }
    let text = map["data"][name].as_str()?;
    YamlLoader::load_from_str(text).ok()?.into_iter().next()
}
