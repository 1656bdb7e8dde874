//! The Kubernetes manifests (`k8s/`) agree with the binary: every port and probe is one
//! the binary serves, every environment variable one its command reads, every Secret key
//! and ConfigMap key exists, every Service selects pods that have its target port, every
//! image is one the lab builds or pulls, and no pod is killed before its drain ends. Then
//! each check is shown to catch its problem, on a render broken on purpose.
//!
//! The renders come from `kubectl kustomize`, so those tests are ignored where kubectl
//! may be missing; `cargo xtask test` runs them (its stage `manifests`), or run
//! `cargo test -p session07_k8s --test manifests -- --include-ignored`. The base's files,
//! read as they are, are checked without kubectl.

/// The checker, in `tests/manifests/`: the test's own code, not the crate's.
mod manifests {
    pub mod binary;
    pub mod check;
    pub mod render;
}

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

use manifests::binary::Binary;
use manifests::check;
use manifests::render::{Objects, k8s_dir, kustomization_files, string};

/// Every kustomization a cluster can be given.
const RENDERS: [&str; 3] = ["base", "overlays/kind", "overlays/prod"];

/// The anchors the chapter includes.
const ANCHORS: [&str; 12] = [
    "worker-probes",
    "worker-security",
    "worker-rollout",
    "redis-statefulset",
    "secret",
    "configmap",
    "service",
    "ingress",
    "networkpolicy",
    "pdb",
    "kind-cluster",
    "bare-pod",
];

/// The longest part of a manifest the chapter may include.
const ANCHOR_LINES: usize = 35;

fn binary() -> Binary {
    Binary::load(Path::new(env!("CARGO_MANIFEST_DIR")))
}

/// The manifests outside the kustomization: the Job and the bare Pod. They use the base's
/// ConfigMap and Secret, so they are checked together with a render.
fn outside() -> Objects {
    let dir = k8s_dir();
    Objects::files(&[
        dir.join("jobs/submit-samples.yaml"),
        dir.join("examples/pod.yaml"),
    ])
}

/// The kind overlay, as the lab applies it, with the Job and the Pod.
fn kind() -> Objects {
    Objects::kustomize(&k8s_dir().join("overlays/kind")).with(outside())
}

/// The problems the checks find after `mutate` has broken the kind render.
fn broken(mutate: impl FnOnce(&mut Objects)) -> Vec<String> {
    let mut objects = kind();
    mutate(&mut objects);
    check::problems(&objects, &binary())
}

/// One YAML value, written as YAML.
fn yaml(text: &str) -> Yaml {
    YamlLoader::load_from_str(text).expect("YAML").remove(0)
}

/// The first container of a workload's pod template.
fn container<'a>(objects: &'a mut Objects, kind: &str, name: &str) -> &'a mut Yaml {
    &mut objects.find_mut(kind, name)["spec"]["template"]["spec"]["containers"][0]
}

/// A container's `env`, to change.
fn env<'a>(objects: &'a mut Objects, kind: &str, name: &str) -> &'a mut Vec<Yaml> {
    container(objects, kind, name)["env"]
        .as_mut_vec()
        .expect("an env list")
}

/// Every manifest file under `k8s/`.
fn manifest_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()))
            .map(|entry| entry.expect("a directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, files);
            } else if path.extension().is_some_and(|ext| ext == "yaml") {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&k8s_dir(), &mut files);
    files
}

#[test]
fn the_base_files_with_the_job_and_the_pod_are_consistent() {
    let objects = Objects::files(&kustomization_files(&k8s_dir().join("base"))).with(outside());
    assert!(objects.0.len() > 10, "only {} objects", objects.0.len());
    let problems = check::problems(&objects, &binary());
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
#[ignore = "needs kubectl: `cargo xtask test` runs it"]
fn every_render_is_consistent_with_the_binary() {
    let binary = binary();
    for render in RENDERS {
        let objects = Objects::kustomize(&k8s_dir().join(render)).with(outside());
        let problems = check::problems(&objects, &binary);
        assert!(problems.is_empty(), "{render}: {problems:#?}");
    }
}

#[test]
fn every_checkov_skip_gives_its_reason() {
    let mut skips = 0;
    for file in manifest_files() {
        let text = std::fs::read_to_string(&file).expect("readable");
        for line in text.lines().filter(|line| line.contains("checkov.io/skip")) {
            skips += 1;
            let (_, value) = line.split_once(": ").expect("an annotation");
            let (check, reason) = value.split_once('=').expect("CKV_K8S_N=reason");
            assert!(
                check.starts_with("CKV_K8S_") || check.starts_with("CKV2_K8S_"),
                "{}: {line}",
                file.display()
            );
            assert!(
                reason.split_whitespace().count() >= 8,
                "{}: say why the check does not apply: {line}",
                file.display()
            );
        }
    }
    assert!(
        skips > 0,
        "no skip found: is the annotation spelled checkov.io/skipN?"
    );
}

#[test]
fn every_anchor_the_chapter_includes_is_closed_and_short() {
    let mut found = BTreeSet::new();
    for file in manifest_files() {
        let text = std::fs::read_to_string(&file).expect("readable");
        let lines: Vec<&str> = text.lines().collect();
        for (start, line) in lines.iter().enumerate() {
            let Some(name) = line.trim().strip_prefix("# ANCHOR: ") else {
                continue;
            };
            let end = lines[start..]
                .iter()
                .position(|line| line.trim() == format!("# ANCHOR_END: {name}"))
                .unwrap_or_else(|| panic!("{}: {name} is never closed", file.display()));
            assert!(
                end <= ANCHOR_LINES,
                "{}: {name} is {end} lines long",
                file.display()
            );
            assert!(found.insert(name.to_owned()), "{name} twice");
        }
    }
    for name in ANCHORS {
        assert!(found.contains(name), "no anchor {name}");
    }
}

// What each check catches: the kind render, broken in one place, gives exactly the one
// problem expected.

#[test]
#[ignore = "needs kubectl: `cargo xtask test` runs it"]
fn a_probe_path_the_binary_does_not_serve_is_caught() {
    let problems = broken(|objects| {
        container(objects, "Deployment", "worker-deployment")["readinessProbe"]["httpGet"]["path"] =
            string("/ready");
    });
    assert_eq!(
        problems,
        [
            "Deployment worker-deployment, container worker: readinessProbe path /ready is not served by `worker` (it serves /livez, /readyz)"
        ]
    );
}

#[test]
#[ignore = "needs kubectl: `cargo xtask test` runs it"]
fn a_liveness_probe_on_the_readiness_route_is_caught() {
    let problems = broken(|objects| {
        container(objects, "Deployment", "status-api-deployment")["livenessProbe"]["httpGet"]["path"] =
            string("/api/ready");
    });
    assert_eq!(
        problems,
        [
            "Deployment status-api-deployment, container status-api: livenessProbe asks /api/ready; it should ask /api/health"
        ]
    );
}

#[test]
#[ignore = "needs kubectl: `cargo xtask test` runs it"]
fn a_container_port_that_is_not_the_listen_port_is_caught() {
    let problems = broken(|objects| {
        container(objects, "Deployment", "worker-deployment")["ports"][0]["containerPort"] =
            Yaml::Integer(9090);
    });
    assert_eq!(
        problems,
        [
            "Deployment worker-deployment, container worker: containerPort 9090 is not where `worker` listens (PROBE_LISTEN port 8081)",
            "Deployment worker-deployment, container worker: declares no containerPort 8081, where `worker` listens (PROBE_LISTEN)",
            "Deployment worker-deployment, container worker: startupProbe port 9090 is not where `worker` listens (8081)",
            "Deployment worker-deployment, container worker: livenessProbe port 9090 is not where `worker` listens (8081)",
            "Deployment worker-deployment, container worker: readinessProbe port 9090 is not where `worker` listens (8081)",
        ]
    );
}

#[test]
#[ignore = "needs kubectl: `cargo xtask test` runs it"]
fn a_missing_listen_address_is_caught() {
    let problems = broken(|objects| {
        env(objects, "Deployment", "worker-deployment")
            .retain(|variable| variable["name"].as_str() != Some("PROBE_LISTEN"));
    });
    assert_eq!(
        problems,
        [
            "Deployment worker-deployment, container worker: PROBE_LISTEN is 127.0.0.1:8081, the pod's loopback: neither the kubelet's probes nor a Service reach it"
        ]
    );
}

#[test]
#[ignore = "needs kubectl: `cargo xtask test` runs it"]
fn a_missing_redis_password_is_caught() {
    let problems = broken(|objects| {
        env(objects, "Deployment", "status-api-deployment")
            .retain(|variable| variable["name"].as_str() != Some("REDIS_PASSWORD"));
    });
    assert_eq!(
        problems,
        [
            "Deployment status-api-deployment, container status-api: `api` needs REDIS_PASSWORD, which is not set"
        ]
    );
}

#[test]
#[ignore = "needs kubectl: `cargo xtask test` runs it"]
fn a_variable_the_command_does_not_read_is_caught() {
    let problems = broken(|objects| {
        env(objects, "Deployment", "status-api-deployment")
            .push(yaml("{name: WORKER_CONCURRENCY, value: '4'}"));
    });
    assert_eq!(
        problems,
        [
            "Deployment status-api-deployment, container status-api: sets WORKER_CONCURRENCY, which `api` does not read"
        ]
    );
}

#[test]
#[ignore = "needs kubectl: `cargo xtask test` runs it"]
fn a_config_map_imported_whole_with_keys_the_command_does_not_read_is_caught() {
    let problems = broken(|objects| {
        let job = container(objects, "Job", "submit-samples");
        job.as_mut_hash().expect("a container").insert(
            string("envFrom"),
            yaml("[{configMapRef: {name: app-config}}]"),
        );
    });
    let at = "Job submit-samples, container send";
    assert_eq!(
        problems,
        [
            format!("{at}: sets LOG_FORMAT, which `send` does not read"),
            format!("{at}: sets SHUTDOWN_GRACE, which `send` does not read"),
            format!("{at}: sets TASK_TIMEOUT, which `send` does not read"),
            format!("{at}: sets WORKER_CONCURRENCY, which `send` does not read"),
            format!("{at}: sets redis.conf, which `send` does not read"),
        ]
    );
}

#[test]
#[ignore = "needs kubectl: `cargo xtask test` runs it"]
fn a_secret_key_that_does_not_exist_is_caught() {
    let problems = broken(|objects| {
        let variable = env(objects, "Deployment", "worker-deployment")
            .iter_mut()
            .find(|variable| variable["name"].as_str() == Some("REDIS_PASSWORD"))
            .expect("REDIS_PASSWORD");
        variable["valueFrom"]["secretKeyRef"]["key"] = string("password");
    });
    assert_eq!(
        problems,
        [
            "Deployment worker-deployment, container worker: REDIS_PASSWORD comes from key password of Secret redis-secret, which has no such key"
        ]
    );
}

#[test]
#[ignore = "needs kubectl: `cargo xtask test` runs it"]
fn a_config_map_key_that_does_not_exist_is_caught() {
    let problems = broken(|objects| {
        objects.find_mut("ConfigMap", "app-config")["data"]
            .as_mut_hash()
            .expect("data")
            .remove(&string("LEASE"));
    });
    let missing = |owner: &str, container: &str| {
        format!(
            "{owner}, container {container}: LEASE comes from key LEASE of ConfigMap app-config, which has no such key"
        )
    };
    assert_eq!(
        problems,
        [
            missing("Deployment status-api-deployment", "status-api"),
            missing("Deployment worker-deployment", "worker"),
            missing("Job submit-samples", "send"),
        ]
    );
}

#[test]
#[ignore = "needs kubectl: `cargo xtask test` runs it"]
fn a_service_that_selects_nothing_is_caught() {
    let problems = broken(|objects| {
        objects.find_mut("Service", "redis-service")["spec"]["selector"]["app.kubernetes.io/name"] =
            string("redis-server");
    });
    assert_eq!(
        problems,
        ["Service redis-service selects no pod (app.kubernetes.io/name=redis-server)"]
    );
}

#[test]
#[ignore = "needs kubectl: `cargo xtask test` runs it"]
fn a_target_port_the_pods_do_not_declare_is_caught() {
    let problems = broken(|objects| {
        objects.find_mut("Service", "status-api-service")["spec"]["ports"][0]["targetPort"] =
            string("web");
    });
    assert_eq!(
        problems,
        [
            "Service status-api-service: targetPort web is not a port of Deployment status-api-deployment"
        ]
    );
}

#[test]
#[ignore = "needs kubectl: `cargo xtask test` runs it"]
fn an_image_the_lab_does_not_build_is_caught() {
    let problems = broken(|objects| {
        container(objects, "Deployment", "worker-deployment")["image"] =
            string("session07_k8s:latest");
    });
    let binary = binary();
    assert_eq!(
        problems,
        [format!(
            "Deployment worker-deployment, container worker: image session07_k8s:latest is neither {}:<tag> nor {}",
            binary.image, binary.redis_image
        )]
    );
}

#[test]
#[ignore = "needs kubectl: `cargo xtask test` runs it"]
fn a_grace_period_shorter_than_the_drain_is_caught() {
    let problems = broken(|objects| {
        objects.find_mut("Deployment", "worker-deployment")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] =
            Yaml::Integer(60);
    });
    assert_eq!(
        problems,
        [
            "Deployment worker-deployment: terminationGracePeriodSeconds 60 is not more than preStop 5 s + SHUTDOWN_GRACE 60 s: SIGKILL would cut the drain short"
        ]
    );
}

#[test]
#[ignore = "needs kubectl: `cargo xtask test` runs it"]
fn a_drain_shorter_than_a_task_is_caught() {
    let problems = broken(|objects| {
        objects.find_mut("ConfigMap", "app-config")["data"]["SHUTDOWN_GRACE"] = string("30");
    });
    assert_eq!(
        problems,
        [
            "Deployment worker-deployment, container worker: SHUTDOWN_GRACE 30 s is shorter than TASK_TIMEOUT 60 s: a stopping worker could cut a task short"
        ]
    );
}
