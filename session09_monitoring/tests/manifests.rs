//! The monitoring overlay (`k8s/overlays/monitoring`) agrees with the binary and with the
//! compose lab: the workers and the status API ask to be scraped where they serve
//! `/metrics`, Prometheus may find them (its role) and reach them (the NetworkPolicies
//! over session 07's default deny), and it runs the same alert rules as the compose lab,
//! from the same file. Session 07's own checks pass on the whole render, with this
//! session's image: they read session 07's command line, so the test first shows that
//! this session's `worker` and `api` read the same variables with the same defaults.
//! Then each check is shown to catch its problem, on a render broken on purpose.
//!
//! The renders come from `kubectl kustomize`, so those tests are ignored where kubectl
//! may be missing; `cargo xtask manifests` runs them, or run `cargo test -p
//! session09_monitoring --test manifests -- --include-ignored`.

/// The checker, in `tests/manifests/`: the test's own code, not the crate's.
mod manifests {
    /// Session 07's checker, shared: what the binary reads and serves.
    #[allow(dead_code)]
    #[path = "../../../session07_k8s/tests/manifests/binary.rs"]
    pub mod binary;
    /// Session 07's checker, shared: the manifests against the binary.
    #[allow(dead_code)]
    #[path = "../../../session07_k8s/tests/manifests/check.rs"]
    pub mod check;
    /// The manifest files as text: session 07's checker's, shared.
    #[path = "../../../session07_k8s/tests/manifests/files.rs"]
    pub mod files;
    #[allow(dead_code)]
    #[path = "../../../session07_k8s/tests/manifests/network.rs"]
    pub mod network;
    #[allow(dead_code)]
    #[path = "../../../session07_k8s/tests/manifests/redis.rs"]
    pub mod redis;
    /// Rendering and reading manifests: session 07's checker's, shared.
    #[allow(dead_code)]
    #[path = "../../../session07_k8s/tests/manifests/render.rs"]
    pub mod render;
    pub mod scrape;
    /// Label selectors: session 07's checker's, shared.
    #[allow(dead_code)]
    #[path = "../../../session07_k8s/tests/manifests/selector.rs"]
    pub mod selector;
}

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::CommandFactory as _;
use yaml_rust2::Yaml;

use manifests::binary::Binary;
use manifests::check;
use manifests::files;
use manifests::render::{Objects, k8s_dir, string};
use manifests::scrape::{self, PROMETHEUS};

/// The anchors the chapter includes.
const ANCHORS: [&str; 4] = [
    "scrape-annotations",
    "allow-prometheus",
    "rbac",
    "prometheus-container",
];

/// The longest part of a manifest the chapter may include.
const ANCHOR_LINES: usize = 35;

fn crate_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn monitoring() -> PathBuf {
    crate_dir().join("monitoring")
}

fn render() -> Objects {
    Objects::kustomize(&k8s_dir().join("overlays/monitoring"))
}

fn problems(objects: &Objects) -> Vec<String> {
    scrape::problems(objects, &monitoring())
}

/// The Prometheus image the compose lab pulls.
fn compose_prometheus_image() -> String {
    let text = std::fs::read_to_string(crate_dir().join("compose.yaml")).expect("compose.yaml");
    let docs = yaml_rust2::YamlLoader::load_from_str(&text).expect("YAML");
    docs[0]["services"]["prometheus"]["image"]
        .as_str()
        .expect("an image")
        .to_owned()
}

#[test]
#[ignore = "needs kubectl: `cargo xtask manifests` runs it"]
fn prometheus_finds_reaches_and_scrapes_the_workers_and_the_api() {
    let objects = render();
    assert_eq!(problems(&objects), Vec::<String>::new());
    // This session's image, never pulled (kind has it loaded), in both Deployments.
    for name in ["worker-deployment", "status-api-deployment"] {
        let container = &objects.find("Deployment", name).expect(name)["spec"]["template"]["spec"]
            ["containers"][0];
        assert_eq!(
            container["image"].as_str(),
            Some("session09-monitoring:v1"),
            "{name}"
        );
        assert_eq!(
            container["imagePullPolicy"].as_str(),
            Some("Never"),
            "{name}"
        );
    }
    // The same Prometheus as the compose lab's.
    let prometheus = &objects.find("Deployment", PROMETHEUS).expect("Prometheus")["spec"]["template"]
        ["spec"]["containers"][0];
    assert_eq!(
        prometheus["image"].as_str(),
        Some(compose_prometheus_image().as_str())
    );
    let args: Vec<&str> = prometheus["args"]
        .as_vec()
        .expect("args")
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert!(
        !args
            .iter()
            .any(|arg| arg.starts_with("--web.enable-lifecycle")),
        "{args:?}"
    );
}

/// The variables this session's `command` reads, each with its default, read from its
/// clap definition as session 07's checker reads session 07's.
fn session09_env(command: &str) -> BTreeMap<String, Option<String>> {
    let cli = session09_monitoring::cli::Cli::command();
    let sub = cli
        .find_subcommand(command)
        .unwrap_or_else(|| panic!("no command {command}"));
    sub.get_arguments()
        .filter_map(|arg| {
            let name = arg.get_env()?.to_str()?.to_owned();
            let default = arg
                .get_default_values()
                .first()
                .and_then(|value| value.to_str())
                .map(str::to_owned);
            Some((name, default))
        })
        .collect()
}

#[test]
#[ignore = "needs kubectl: `cargo xtask manifests` runs it"]
fn session07s_checks_pass_on_the_monitored_system() {
    let binary = Binary::load(&crate_dir());
    // Session 07's checker knows session 07's commands: this session's must read the
    // same variables, with the same defaults, for its verdict to hold here.
    for command in ["worker", "api"] {
        assert_eq!(
            session09_env(command),
            binary.commands[command].env,
            "session 09's `{command}` reads other variables than session 07's"
        );
    }
    let mut objects = render();
    // Prometheus's container is no image session 07's lab knows: its own checks above.
    objects
        .0
        .retain(|object| object["metadata"]["name"].as_str() != Some(PROMETHEUS));
    assert_eq!(binary.image, "session09-monitoring");
    assert_eq!(check::problems(&objects, &binary), Vec::<String>::new());
}

#[test]
#[ignore = "needs kubectl: `cargo xtask manifests` runs it"]
fn a_wrong_port_or_path_or_a_missing_annotation_is_caught() {
    let mut objects = render();
    objects.find_mut("Deployment", "worker-deployment")["spec"]["template"]["metadata"]["annotations"]
        ["prometheus.io/port"] = string("8080");
    objects.find_mut("Deployment", "status-api-deployment")["spec"]["template"]["metadata"]["annotations"]
        ["prometheus.io/path"] = string("/api/metrics");
    assert_eq!(
        problems(&objects),
        [
            "Deployment worker-deployment: prometheus.io/port is 8080, but PROBE_LISTEN makes it listen on 8081",
            "Deployment status-api-deployment: prometheus.io/path is not /metrics, where the binary serves its metrics",
        ]
    );
    let mut objects = render();
    objects.find_mut("Deployment", "worker-deployment")["spec"]["template"]["metadata"]
        .as_mut_hash()
        .expect("metadata")
        .remove(&string("annotations"));
    assert_eq!(
        problems(&objects),
        [
            "Deployment worker-deployment: its pods lack prometheus.io/scrape: \"true\", so Prometheus skips them"
        ]
    );
}

#[test]
#[ignore = "needs kubectl: `cargo xtask manifests` runs it"]
fn workers_behind_the_default_deny_are_caught() {
    let mut objects = render();
    objects
        .0
        .retain(|object| object["metadata"]["name"].as_str() != Some("allow-prometheus-scrape"));
    // The status API is open to anyone on 8080 (session 07); the workers to no one.
    assert_eq!(
        problems(&objects),
        [
            "Deployment worker-deployment: no NetworkPolicy lets Prometheus reach port 8081: every scrape would time out"
        ]
    );
}

#[test]
#[ignore = "needs kubectl: `cargo xtask manifests` runs it"]
fn prometheus_without_the_right_to_list_pods_is_caught() {
    let mut objects = render();
    objects.find_mut("Role", "prometheus-discovery")["rules"][0]["verbs"] =
        yaml_rust2::Yaml::Array(vec![string("get")]);
    assert_eq!(
        problems(&objects),
        [
            "ServiceAccount prometheus: no role lets it list and watch pods in imgproc, so Prometheus finds no target"
        ]
    );
    let mut objects = render();
    objects
        .0
        .retain(|object| object["kind"].as_str() != Some("RoleBinding"));
    objects.find_mut("Deployment", PROMETHEUS)["spec"]["template"]["spec"]["automountServiceAccountToken"] =
        Yaml::Boolean(false);
    assert_eq!(
        problems(&objects),
        [
            "Deployment prometheus: mounts no ServiceAccount token, so it cannot ask the API server for pods",
            "ServiceAccount prometheus: no role lets it list and watch pods in imgproc, so Prometheus finds no target",
        ]
    );
}

#[test]
#[ignore = "needs kubectl: `cargo xtask manifests` runs it"]
fn rules_that_drift_from_the_compose_labs_are_caught() {
    let mut objects = render();
    let map = objects
        .0
        .iter_mut()
        .find(|object| {
            object["kind"].as_str() == Some("ConfigMap")
                && object["metadata"]["name"]
                    .as_str()
                    .is_some_and(|name| name.starts_with("prometheus-config"))
        })
        .expect("Prometheus's ConfigMap");
    let name = map["metadata"]["name"].as_str().expect("a name").to_owned();
    map["data"]["alerts.yml"] = string("groups: []\n");
    assert_eq!(
        problems(&objects),
        [format!(
            "ConfigMap {name}: alerts.yml is not monitoring/alerts.yml as it is"
        )]
    );
}

// The files.

#[test]
fn every_checkov_skip_gives_its_reason() {
    files::assert_every_skip_gives_its_reason();
}

#[test]
fn every_anchor_the_chapter_includes_is_closed_and_short() {
    files::assert_anchors_are_closed_and_short(&ANCHORS, ANCHOR_LINES);
}
