//! The Kubernetes manifests (`k8s/`) agree with the binary: every port and probe is one
//! the binary serves (and waits long enough for it), every environment variable one its
//! command reads, every Secret key and ConfigMap key exists, the queue's clients agree on
//! its settings, every Service selects pods that have its target port, the
//! NetworkPolicies let the needed traffic through, Redis's maxmemory fits its memory
//! limit, every image is one the lab builds or pulls, and no pod is killed before its
//! drain ends. Then each check is shown to catch its problem, on a render broken on
//! purpose.
//!
//! The renders come from `kubectl kustomize`, so those tests are ignored where kubectl
//! may be missing; `cargo xtask test` runs them (its stage `manifests`), or run
//! `cargo test -p session07_k8s --test manifests -- --include-ignored`. The base's files,
//! read as they are, are checked without kubectl.

/// The checker, in `tests/manifests/`: the test's own code, not the crate's.
mod manifests {
    pub mod binary;
    pub mod check;
    pub mod files;
    pub mod network;
    pub mod redis;
    pub mod render;
    pub mod selector;
}

use std::path::Path;

use yaml_rust2::{Yaml, YamlLoader};

use manifests::binary::Binary;
use manifests::check;
use manifests::files;
use manifests::render::{Objects, k8s_dir, kustomization_files, string};

/// Every kustomization a cluster can be given.
const RENDERS: [&str; 3] = ["base", "overlays/kind", "overlays/prod"];

/// The anchors the chapter includes.
const ANCHORS: [&str; 13] = [
    "worker-probes",
    "status-api-probes",
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

/// The first container of a workload's pod template, or of a bare Pod.
fn container<'a>(objects: &'a mut Objects, kind: &str, name: &str) -> &'a mut Yaml {
    let object = objects.find_mut(kind, name);
    let pod = if kind == "Pod" {
        object
    } else {
        &mut object["spec"]["template"]
    };
    &mut pod["spec"]["containers"][0]
}

/// A container's `env`, to change.
fn env<'a>(objects: &'a mut Objects, kind: &str, name: &str) -> &'a mut Vec<Yaml> {
    container(objects, kind, name)["env"]
        .as_mut_vec()
        .expect("an env list")
}

/// Sets a variable of a workload's (or a Pod's) first container, to a literal value.
fn set_env(objects: &mut Objects, kind: &str, name: &str, variable: &str, value: &str) {
    let list = env(objects, kind, name);
    list.retain(|entry| entry["name"].as_str() != Some(variable));
    list.push(yaml(&format!("{{name: {variable}, value: '{value}'}}")));
}

/// A Deployment's `terminationGracePeriodSeconds`, changed.
fn grace_period(objects: &mut Objects, name: &str, seconds: i64) {
    objects.find_mut("Deployment", name)["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] =
        Yaml::Integer(seconds);
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
    files::assert_every_skip_gives_its_reason();
}

#[test]
fn every_anchor_the_chapter_includes_is_closed_and_short() {
    files::assert_anchors_are_closed_and_short(&ANCHORS, ANCHOR_LINES);
}

#[test]
fn the_image_env_is_its_final_stages() {
    let dockerfile = "FROM rust AS chef\nENV CARGO_HOME=/cargo\nFROM chef AS builder\n\
                      ENV BUILDER=1\nFROM scratch AS runtime\n# a comment\n\
                      ENV LOG_FORMAT=json \\\n    A=\"x y\"\nENV OLD_FORM a value\n";
    let env = manifests::binary::image_env(dockerfile);
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        pairs,
        [
            ("A", "x y"),
            ("LOG_FORMAT", "json"),
            ("OLD_FORM", "a value")
        ]
    );
    let inherited =
        manifests::binary::image_env("FROM rust AS chef\nENV A=1\nFROM chef\nENV B=2\n");
    assert_eq!(inherited.len(), 2, "{inherited:?}");
    let ours = binary();
    assert_eq!(ours.image_env["PROBE_LISTEN"], "0.0.0.0:8081");
    assert_eq!(ours.image_env["API_LISTEN"], "0.0.0.0:8080");
}

#[test]
fn memory_sizes_are_read_as_redis_and_kubernetes_write_them() {
    use manifests::redis::{quantity, redis_bytes};
    assert_eq!(redis_bytes("160mb"), Some(160.0 * 1024.0 * 1024.0));
    assert_eq!(redis_bytes("1G"), Some(1e9));
    assert_eq!(redis_bytes("4096"), Some(4096.0));
    assert_eq!(redis_bytes("1tb"), None);
    assert_eq!(quantity("256Mi"), Some(256.0 * 1024.0 * 1024.0));
    assert_eq!(quantity("1Gi"), Some(1024.0 * 1024.0 * 1024.0));
    assert_eq!(quantity("500M"), Some(5e8));
    assert_eq!(quantity("1e9"), Some(1e9));
    assert_eq!(quantity("lots"), None);
}

#[test]
fn label_selectors_are_evaluated_as_kubernetes_does() {
    use manifests::selector::matches;
    let labels = yaml("{app: worker, tier: back}");
    for (selector, expected) in [
        ("{}", true),
        ("{matchLabels: {app: worker}}", true),
        ("{matchLabels: {app: api}}", false),
        (
            "{matchExpressions: [{key: app, operator: In, values: [api, worker]}]}",
            true,
        ),
        (
            "{matchExpressions: [{key: app, operator: NotIn, values: [worker]}]}",
            false,
        ),
        (
            "{matchExpressions: [{key: zone, operator: NotIn, values: [a]}]}",
            true,
        ),
        ("{matchExpressions: [{key: tier, operator: Exists}]}", true),
        (
            "{matchExpressions: [{key: tier, operator: DoesNotExist}]}",
            false,
        ),
        (
            "{matchLabels: {app: worker}, matchExpressions: [{key: zone, operator: Exists}]}",
            false,
        ),
    ] {
        assert_eq!(matches(&yaml(selector), &labels), expected, "{selector}");
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
fn a_loopback_listen_address_is_caught() {
    let problems = broken(|objects| {
        set_env(
            objects,
            "Deployment",
            "worker-deployment",
            "PROBE_LISTEN",
            "127.0.0.1:8081",
        );
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
fn a_listen_address_left_to_the_image_is_fine() {
    // The image's ENV says 0.0.0.0:8081, over the binary's 127.0.0.1 default.
    let problems = broken(|objects| {
        env(objects, "Deployment", "worker-deployment")
            .retain(|variable| variable["name"].as_str() != Some("PROBE_LISTEN"));
    });
    assert_eq!(problems, Vec::<String>::new());
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
            missing("Pod worker-pod", "worker"),
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
fn a_grace_period_without_room_after_the_drain_is_caught() {
    // 74 s covers the worker's 60 s drain, but not the 15 s after it.
    let problems = broken(|objects| grace_period(objects, "worker-deployment", 74));
    assert_eq!(
        problems,
        [
            "Deployment worker-deployment: terminationGracePeriodSeconds 74 is less than preStop 0 s + SHUTDOWN_GRACE 60 s + 15 s for the rest of the shutdown: SIGKILL would cut the drain short"
        ]
    );
}

#[test]
#[ignore = "needs kubectl: `cargo xtask test` runs it"]
fn a_grace_period_that_forgets_the_pre_stop_sleep_is_caught() {
    let problems = broken(|objects| grace_period(objects, "status-api-deployment", 29));
    assert_eq!(
        problems,
        [
            "Deployment status-api-deployment: terminationGracePeriodSeconds 29 is less than preStop 5 s + API_SHUTDOWN_GRACE 10 s + 15 s for the rest of the shutdown: SIGKILL would cut the drain short"
        ]
    );
}

#[test]
#[ignore = "needs kubectl: `cargo xtask test` runs it"]
fn a_readiness_probe_that_gives_up_before_the_api_answers_is_caught() {
    let problems = broken(|objects| {
        container(objects, "Deployment", "status-api-deployment")["readinessProbe"]
            .as_mut_hash()
            .expect("a probe")
            .remove(&string("timeoutSeconds"));
    });
    assert_eq!(
        problems,
        [
            "Deployment status-api-deployment, container status-api: readinessProbe timeoutSeconds 1 (the default) is not more than /api/ready's own deadline of 2 s: the kubelet would give up before a slow answer, and count it as a failure"
        ]
    );
}

#[test]
#[ignore = "needs kubectl: `cargo xtask test` runs it"]
fn a_redis_client_the_network_policy_leaves_out_is_caught() {
    let problems = broken(|objects| {
        let policy = objects.find_mut("NetworkPolicy", "redis-allow-clients");
        policy["spec"]["ingress"][0]["from"][0]["podSelector"]["matchExpressions"][0]["values"]
            .as_mut_vec()
            .expect("the allowed names")
            .retain(|name| name.as_str() != Some("submit-samples"));
    });
    assert_eq!(
        problems,
        [
            "Job submit-samples: reads REDIS_URL, but no NetworkPolicy lets it reach StatefulSet redis on port 6379"
        ]
    );
}

#[test]
#[ignore = "needs kubectl: `cargo xtask test` runs it"]
fn a_service_port_the_network_policy_closes_is_caught() {
    let problems = broken(|objects| {
        objects.find_mut("NetworkPolicy", "status-api-allow-http")["spec"]["ingress"][0]["ports"]
            [0]["port"] = Yaml::Integer(9090);
    });
    assert_eq!(
        problems,
        [
            "Service status-api-nodeport: no NetworkPolicy lets traffic in to port http (8080) of Deployment status-api-deployment",
            "Service status-api-service: no NetworkPolicy lets traffic in to port http (8080) of Deployment status-api-deployment",
        ]
    );
}

#[test]
#[ignore = "needs kubectl: `cargo xtask test` runs it"]
fn a_worker_on_another_queue_is_caught() {
    let problems = broken(|objects| {
        set_env(objects, "Pod", "worker-pod", "QUEUE_NAMESPACE", "other");
    });
    assert_eq!(
        problems,
        [
            "the Redis clients disagree on QUEUE_NAMESPACE: imgq (Deployment status-api-deployment, container status-api; Deployment worker-deployment, container worker; Job submit-samples, container send), other (Pod worker-pod, container worker)"
        ]
    );
}

#[test]
#[ignore = "needs kubectl: `cargo xtask test` runs it"]
fn a_heartbeat_the_api_judges_differently_is_caught() {
    // The workers keep the binary's default (10 s).
    let problems = broken(|objects| {
        set_env(
            objects,
            "Deployment",
            "status-api-deployment",
            "WORKER_HEARTBEAT_TTL",
            "5",
        );
    });
    assert_eq!(
        problems,
        [
            "`worker` and `api` disagree on WORKER_HEARTBEAT_TTL: 10 (Deployment worker-deployment, container worker; Pod worker-pod, container worker), 5 (Deployment status-api-deployment, container status-api)"
        ]
    );
}

#[test]
#[ignore = "needs kubectl: `cargo xtask test` runs it"]
fn a_redis_maxmemory_too_close_to_its_limit_is_caught() {
    let problems = broken(|objects| {
        let redis = &mut objects.find_mut("StatefulSet", "redis")["spec"]["template"]["spec"]["containers"]
            [0];
        redis["resources"]["limits"]["memory"] = string("200Mi");
    });
    assert_eq!(
        problems,
        [
            "StatefulSet redis, container redis: maxmemory 160mb is 80 % of the memory limit 200Mi: keep it under 75 %, or rewriting the append-only file (a fork) gets Redis OOMKilled"
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
            "Deployment worker-deployment, container worker: SHUTDOWN_GRACE 30 s is shorter than TASK_TIMEOUT 60 s: a stopping worker could cut a task short",
            "Pod worker-pod, container worker: SHUTDOWN_GRACE 30 s is shorter than TASK_TIMEOUT 60 s: a stopping worker could cut a task short",
        ]
    );
}
