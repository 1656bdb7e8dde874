//! The autoscaling manifests (`k8s/`) agree with the code: the HPA's behaviour block is the
//! local autoscaler's default, number for number, and so is KEDA's; both scale the
//! workers' Deployment, which leaves its replicas to them and requests what their
//! percentages are of; KEDA reads the streams the stress Job's tasks wait in, in the
//! workers' group, at Redis's Service, with the Secret's password; the stress Job runs
//! `submit` with flags and variables `submit` reads. Then each check is shown to catch its
//! problem, on a manifest broken on purpose.
//!
//! The renders come from `kubectl kustomize`, so those tests are ignored where kubectl
//! may be missing; `cargo xtask manifests` (and the `manifests` stage of `cargo xtask
//! test`) runs them, or run `cargo test -p session08_scaling --test manifests --
//! --include-ignored`. The stress Job, read as it is with session 07's base, is checked
//! without kubectl.

/// The checker, in `tests/manifests/`: the test's own code, not the crate's.
mod manifests {
    pub mod behavior;
    /// The manifest files as text: session 07's checker's, shared.
    #[path = "../../../session07_k8s/tests/manifests/files.rs"]
    pub mod files;
    pub mod keda;
    pub mod reading;
    /// Rendering and reading manifests: session 07's checker's, shared.
    #[allow(dead_code)]
    #[path = "../../../session07_k8s/tests/manifests/render.rs"]
    pub mod render;
    pub mod scaled;
    /// Label selectors: session 07's checker's, shared.
    #[allow(dead_code)]
    #[path = "../../../session07_k8s/tests/manifests/selector.rs"]
    pub mod selector;
    pub mod stress;
}

use std::path::{Path, PathBuf};

use clap::Parser as _;
use session08_scaling::cli::{Cli, Command};
use session08_scaling::hpa::Behavior;
use yaml_rust2::Yaml;

use manifests::behavior::{self, differences};
use manifests::files;
use manifests::keda::keda_problems;
use manifests::reading::{session07_k8s_dir, yaml};
use manifests::render::{Objects, k8s_dir, string};
use manifests::scaled::hpa_problems;
use manifests::stress;

/// The anchors the chapter includes.
const ANCHORS: [&str; 7] = [
    "hpa",
    "behavior",
    "no-replicas",
    "scaledobject",
    "keda-auth",
    "stress",
    "stress-args",
];

/// The longest part of a manifest the chapter may include.
const ANCHOR_LINES: usize = 35;

/// The local autoscaler's behaviour when `autoscale` is given no flag.
fn autoscaler_behavior() -> Behavior {
    let cli = Cli::try_parse_from(["session08_scaling", "autoscale"])
        .unwrap_or_else(|error| panic!("`autoscale` with no flag does not parse: {error}"));
    let Some(Command::Autoscale(args)) = cli.command else {
        panic!("`session08_scaling autoscale` is not the autoscale command");
    };
    args.spec()
        .unwrap_or_else(|error| panic!("`autoscale`'s defaults are no valid spec: {error}"))
        .behavior
}

/// The lag per worker the local autoscaler aims at when `autoscale` is given no flag.
fn autoscaler_target_lag() -> f64 {
    let cli = Cli::try_parse_from(["session08_scaling", "autoscale"])
        .unwrap_or_else(|error| panic!("`autoscale` with no flag does not parse: {error}"));
    let Some(Command::Autoscale(args)) = cli.command else {
        panic!("`session08_scaling autoscale` is not the autoscale command");
    };
    args.target_lag
}

/// The HPA overlay, rendered.
fn hpa_render() -> Objects {
    Objects::kustomize(&k8s_dir().join("overlays/hpa"))
}

/// The KEDA overlay, rendered.
fn keda_render() -> Objects {
    Objects::kustomize(&k8s_dir().join("overlays/keda"))
}

/// The HPA's `behavior` block.
fn hpa_behavior(objects: &Objects) -> &Yaml {
    &objects
        .find("HorizontalPodAutoscaler", "worker-hpa")
        .expect("the HPA overlay has worker-hpa")["spec"]["behavior"]
}

/// The ScaledObject's `behavior` block.
fn keda_behavior(objects: &Objects) -> &Yaml {
    let scaler = objects
        .find("ScaledObject", "worker-scaler")
        .expect("the KEDA overlay has worker-scaler");
    &scaler["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
}

/// The stress Job, with what it uses: session 07's base (read as files, as kustomize
/// would list them) and the NetworkPolicy that lets it reach Redis.
fn stress_with_base() -> Objects {
    let base = session07_k8s_dir().join("base");
    let kustomization = Objects::files(&[base.join("kustomization.yaml")]);
    let mut files: Vec<PathBuf> = kustomization.0[0]["resources"]
        .as_vec()
        .expect("the base lists its resources")
        .iter()
        .filter_map(Yaml::as_str)
        .map(|file| base.join(file))
        .collect();
    files.push(k8s_dir().join("components/autoscaled/stress-networkpolicy.yaml"));
    files.push(k8s_dir().join("jobs/stress.yaml"));
    Objects::files(&files)
}

/// The queue's namespace, as the clients' ConfigMap sets it.
fn queue_namespace(objects: &Objects) -> String {
    objects
        .find("ConfigMap", "app-config")
        .and_then(|config| config["data"]["QUEUE_NAMESPACE"].as_str())
        .expect("the ConfigMap sets QUEUE_NAMESPACE")
        .to_owned()
}

/// The streams the stress Job's tasks wait in.
fn stress_streams() -> Vec<String> {
    let objects = stress_with_base();
    stress::streams(&objects, &queue_namespace(&objects))
}

/// The workspace's root, whose files the image copies.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The container of the stress Job, to change.
fn stress_container(objects: &mut Objects) -> &mut Yaml {
    &mut objects.find_mut("Job", stress::JOB)["spec"]["template"]["spec"]["containers"][0]
}

// The behaviour blocks.

#[test]
fn the_comparison_names_every_field_that_differs() {
    let course = behavior::of_autoscaler(&Behavior::course());
    let kubernetes = behavior::of_autoscaler(&Behavior::kubernetes_default());
    assert_eq!(differences(&course, &course), Vec::<String>::new());
    assert_eq!(
        differences(&kubernetes, &course),
        [
            "scaleUp.stabilizationWindowSeconds: the manifest says 0, the autoscaler 30",
            "scaleUp.policies[0].periodSeconds: the manifest says 15, the autoscaler 60",
            "scaleDown.stabilizationWindowSeconds: the manifest says 300, the autoscaler 60",
            "scaleDown.policies[0].value: the manifest says 100, the autoscaler 50",
            "scaleDown.policies[0].periodSeconds: the manifest says 15, the autoscaler 60",
            "scaleUp.policies[1].type: the manifest says Pods, the autoscaler nothing",
            "scaleUp.policies[1].value: the manifest says 4, the autoscaler nothing",
            "scaleUp.policies[1].periodSeconds: the manifest says 15, the autoscaler nothing",
        ]
    );
    // A block that leaves a field out says so: Kubernetes' default is not the course's.
    let partial = yaml(
        "{scaleUp: {stabilizationWindowSeconds: 30, policies: \
         [{type: Percent, value: 100, periodSeconds: 60}]}, \
         scaleDown: {stabilizationWindowSeconds: 60, selectPolicy: Max, policies: \
         [{type: Percent, value: 50, periodSeconds: 60}]}}",
    );
    assert_eq!(
        differences(&behavior::of_manifest(&partial), &course),
        ["scaleUp.selectPolicy: the manifest says (missing), the autoscaler Max"]
    );
}

#[test]
#[ignore = "needs kubectl: `cargo xtask manifests` runs it"]
fn the_hpa_behaves_as_the_local_autoscaler_by_default() {
    let objects = hpa_render();
    let manifest = behavior::of_manifest(hpa_behavior(&objects));
    let local = behavior::of_autoscaler(&autoscaler_behavior());
    assert_eq!(differences(&manifest, &local), Vec::<String>::new());
    // And both are the original course's block.
    let course = behavior::of_autoscaler(&Behavior::course());
    assert_eq!(differences(&manifest, &course), Vec::<String>::new());
    assert_eq!(autoscaler_behavior(), Behavior::course());
}

#[test]
#[ignore = "needs kubectl: `cargo xtask manifests` runs it"]
fn a_number_changed_in_the_hpa_is_named() {
    let mut objects = hpa_render();
    let hpa = objects.find_mut("HorizontalPodAutoscaler", "worker-hpa");
    hpa["spec"]["behavior"]["scaleDown"]["policies"][0]["value"] = Yaml::Integer(40);
    hpa["spec"]["behavior"]["scaleUp"]["selectPolicy"] = string("Min");
    let manifest = behavior::of_manifest(hpa_behavior(&objects));
    assert_eq!(
        differences(&manifest, &behavior::of_autoscaler(&autoscaler_behavior())),
        [
            "scaleUp.selectPolicy: the manifest says Min, the autoscaler Max",
            "scaleDown.policies[0].value: the manifest says 40, the autoscaler 50",
        ]
    );
}

#[test]
#[ignore = "needs kubectl: `cargo xtask manifests` runs it"]
fn keda_behaves_as_the_hpa() {
    let hpa = behavior::of_manifest(hpa_behavior(&hpa_render()));
    let keda = behavior::of_manifest(keda_behavior(&keda_render()));
    assert_eq!(differences(&keda, &hpa), Vec::<String>::new());
    let course = behavior::of_autoscaler(&Behavior::course());
    assert_eq!(differences(&keda, &course), Vec::<String>::new());
}

// The HPA overlay.

#[test]
#[ignore = "needs kubectl: `cargo xtask manifests` runs it"]
fn the_hpa_scales_the_workers_on_what_they_request() {
    let objects = hpa_render();
    assert_eq!(hpa_problems(&objects), Vec::<String>::new());
    let spec = &objects
        .find("HorizontalPodAutoscaler", "worker-hpa")
        .expect("worker-hpa")["spec"];
    assert_eq!(
        spec["scaleTargetRef"]["name"].as_str(),
        Some("worker-deployment")
    );
    assert_eq!(
        (spec["minReplicas"].as_i64(), spec["maxReplicas"].as_i64()),
        (Some(2), Some(8))
    );
    let targets: Vec<(&str, i64)> = spec["metrics"]
        .as_vec()
        .expect("metrics")
        .iter()
        .map(|metric| {
            let resource = &metric["resource"];
            assert_eq!(resource["target"]["type"].as_str(), Some("Utilization"));
            (
                resource["name"].as_str().expect("a resource"),
                resource["target"]["averageUtilization"]
                    .as_i64()
                    .expect("a percentage"),
            )
        })
        .collect();
    assert_eq!(targets, [("cpu", 70), ("memory", 80)]);
    // The kind overlay's own changes are kept: the workers' image is never pulled.
    let worker = &objects
        .find("Deployment", "worker-deployment")
        .expect("the workers")["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(worker["imagePullPolicy"].as_str(), Some("Never"));
}

#[test]
#[ignore = "needs kubectl: `cargo xtask manifests` runs it"]
fn replicas_pinned_or_a_request_missing_are_caught() {
    let mut objects = hpa_render();
    let workers = objects.find_mut("Deployment", "worker-deployment");
    workers["spec"]
        .as_mut_hash()
        .expect("a spec")
        .insert(string("replicas"), Yaml::Integer(2));
    workers["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]
        .as_mut_hash()
        .expect("requests")
        .remove(&string("memory"));
    assert_eq!(
        hpa_problems(&objects),
        [
            "Deployment worker-deployment sets replicas: 2: every `kubectl apply` would undo what HorizontalPodAutoscaler worker-hpa decided",
            "Deployment worker-deployment, container worker: requests no memory, so HorizontalPodAutoscaler worker-hpa's memory Utilization target has no percentage to compute, and never scales",
        ]
    );
}

#[test]
#[ignore = "needs kubectl: `cargo xtask manifests` runs it"]
fn an_hpa_on_a_deployment_the_render_lacks_is_caught() {
    let mut objects = hpa_render();
    objects.find_mut("HorizontalPodAutoscaler", "worker-hpa")["spec"]["scaleTargetRef"]["name"] =
        string("workers");
    assert_eq!(
        hpa_problems(&objects),
        [
            "HorizontalPodAutoscaler worker-hpa scales Deployment workers, which the render does not have"
        ]
    );
}

// The KEDA overlay.

#[test]
#[ignore = "needs kubectl: `cargo xtask manifests` runs it"]
fn keda_reads_the_streams_of_the_load_in_the_workers_group() {
    let objects = keda_render();
    let streams = stress_streams();
    assert_eq!(streams, ["imgq:stream:blur+edges+median+resize"]);
    assert_eq!(keda_problems(&objects, &streams), Vec::<String>::new());
    let spec = &objects
        .find("ScaledObject", "worker-scaler")
        .expect("worker-scaler")["spec"];
    assert_eq!(
        spec["scaleTargetRef"]["name"].as_str(),
        Some("worker-deployment")
    );
    assert_eq!(
        (
            spec["minReplicaCount"].as_i64(),
            spec["maxReplicaCount"].as_i64()
        ),
        (Some(1), Some(8))
    );
}

/// The problems of the KEDA render once `mutate` has broken it.
fn broken_keda(mutate: impl FnOnce(&mut Objects)) -> Vec<String> {
    let mut objects = keda_render();
    mutate(&mut objects);
    keda_problems(&objects, &stress_streams())
}

/// The ScaledObject's redis-streams trigger's metadata, to change.
fn stream_trigger(objects: &mut Objects) -> &mut Yaml {
    &mut objects.find_mut("ScaledObject", "worker-scaler")["spec"]["triggers"][0]["metadata"]
}

#[test]
#[ignore = "needs kubectl: `cargo xtask manifests` runs it"]
fn a_trigger_on_another_group_or_stream_is_caught() {
    let problems = broken_keda(|objects| {
        let metadata = stream_trigger(objects);
        metadata["consumerGroup"] = string("worker");
        metadata["stream"] = string("imgq:stream:blur+edges+resize");
    });
    assert_eq!(
        problems,
        [
            "ScaledObject worker-scaler, trigger 0: consumerGroup worker is not the workers' group, workers",
            "no redis-streams trigger reads imgq:stream:blur+edges+median+resize, where the load's tasks wait",
            "a redis-streams trigger reads imgq:stream:blur+edges+resize, where no task of the load goes (it goes to imgq:stream:blur+edges+median+resize)",
        ]
    );
}

#[test]
#[ignore = "needs kubectl: `cargo xtask manifests` runs it"]
fn a_short_address_or_a_lag_as_a_number_is_caught() {
    let problems = broken_keda(|objects| {
        let metadata = stream_trigger(objects);
        metadata["address"] = string("redis-service:6379");
        metadata["lagCount"] = Yaml::Integer(10);
    });
    assert_eq!(
        problems,
        [
            "ScaledObject worker-scaler, trigger 0: lagCount must be a number above 0, in quotes (KEDA's metadata is text); without it KEDA counts pending entries, not the lag",
            "ScaledObject worker-scaler, trigger 0: address redis-service:6379 is not Redis's Service as KEDA's namespace sees it, redis-service.imgproc.svc.cluster.local:6379",
        ]
    );
}

#[test]
#[ignore = "needs kubectl: `cargo xtask manifests` runs it"]
fn a_misspelt_field_is_caught() {
    // The API server would drop both, silently: KEDA's defaults would apply instead.
    let problems = broken_keda(|objects| {
        let spec = &mut objects.find_mut("ScaledObject", "worker-scaler")["spec"];
        spec.as_mut_hash()
            .expect("a spec")
            .insert(string("minReplicas"), Yaml::Integer(2));
        stream_trigger(objects)
            .as_mut_hash()
            .expect("metadata")
            .insert(string("lagcount"), string("5"));
    });
    assert_eq!(
        problems,
        [
            "ScaledObject worker-scaler: spec.minReplicas is not a field of a ScaledObject",
            "ScaledObject worker-scaler, trigger 0: redis-streams reads no metadata lagcount",
        ]
    );
}

#[test]
#[ignore = "needs kubectl: `cargo xtask manifests` runs it"]
fn other_keys_keda_reads_are_no_false_alarm() {
    let problems = broken_keda(|objects| {
        let metadata = stream_trigger(objects).as_mut_hash().expect("metadata");
        for (key, value) in [
            ("activationLagCount", "1"),
            ("usernameFromEnv", "REDIS_USERNAME"),
            ("portFromEnv", "REDIS_PORT"),
            ("databaseIndex", "0"),
            ("enableTLS", "false"),
        ] {
            metadata.insert(string(key), string(value));
        }
    });
    assert_eq!(problems, Vec::<String>::new());
}

#[test]
#[ignore = "needs kubectl: `cargo xtask manifests` runs it"]
fn a_cpu_trigger_without_a_metric_type_is_caught() {
    // KEDA 2.17 refuses it: "unknown metric type".
    let problems = broken_keda(|objects| {
        objects.find_mut("ScaledObject", "worker-scaler")["spec"]["triggers"][1]
            .as_mut_hash()
            .expect("the cpu trigger")
            .remove(&string("metricType"));
    });
    assert_eq!(
        problems,
        [
            "ScaledObject worker-scaler, trigger 1: a cpu trigger needs metricType Utilization or AverageValue, not (none)"
        ]
    );
}

#[test]
#[ignore = "needs kubectl: `cargo xtask manifests` runs it"]
fn a_password_from_a_missing_key_is_caught() {
    let problems = broken_keda(|objects| {
        objects.find_mut("TriggerAuthentication", "redis-auth")["spec"]["secretTargetRef"][0]["key"] =
            string("password");
    });
    assert_eq!(
        problems,
        [
            "TriggerAuthentication redis-auth: password comes from key password of Secret redis-secret, which has no such key"
        ]
    );
}

#[test]
#[ignore = "needs kubectl: `cargo xtask manifests` runs it"]
fn keda_kept_out_of_redis_by_the_network_policies_is_caught() {
    let problems = broken_keda(|objects| {
        // KEDA's metrics server let in, not its operator: the operator is what asks Redis.
        let policy = objects.find_mut("NetworkPolicy", "redis-allow-keda");
        policy["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"]["app"] =
            string("keda-metrics-apiserver");
    });
    assert_eq!(
        problems,
        [
            "ScaledObject worker-scaler, trigger 0: no NetworkPolicy lets KEDA's operator (namespace keda) reach Redis: its queries would time out"
        ]
    );
}

#[test]
#[ignore = "needs kubectl: `cargo xtask manifests` runs it"]
fn an_hpa_beside_keda_is_caught() {
    let problems = broken_keda(|objects| {
        let hpa = hpa_render()
            .find("HorizontalPodAutoscaler", "worker-hpa")
            .cloned()
            .expect("the HPA");
        objects.0.push(hpa);
    });
    assert_eq!(
        problems,
        [
            "the render has HorizontalPodAutoscaler worker-hpa too: KEDA makes its own, and two would fight over the Deployment"
        ]
    );
}

// The stress Job.

#[test]
fn the_stress_job_runs_submit_as_submit_reads_it() {
    let objects = stress_with_base();
    assert_eq!(
        stress::problems(&objects, &workspace()),
        Vec::<String>::new()
    );
    let args = stress::parsed(&objects).expect("the Job's arguments");
    assert!(!args.tiled, "each task is a whole photo");
    assert!(args.submit.wait, "a pod ends when its tasks have");
    assert!(args.submit.output.is_none(), "the results stay in Redis");
}

#[test]
fn a_stress_job_broken_is_caught() {
    let mut objects = stress_with_base();
    let container = stress_container(&mut objects);
    let env = container["env"].as_mut_vec().expect("env");
    env.push(yaml("{name: WORKER_CONCURRENCY, value: '4'}"));
    env[0]["valueFrom"]["configMapKeyRef"]["key"] = string("REDIS");
    container["args"][1] = string("/app/session01_image_basics/samples/missing.png");
    objects
        .0
        .retain(|object| object["metadata"]["name"].as_str() != Some("redis-allow-stress"));
    assert_eq!(
        stress::problems(&objects, &workspace()),
        [
            "Job stress: /app/session01_image_basics/samples/missing.png is not a file the image copies from the workspace",
            "Job stress: REDIS_URL comes from key REDIS of ConfigMap app-config, which has no such key",
            "Job stress: sets WORKER_CONCURRENCY, which `submit` does not read",
            "Job stress: no NetworkPolicy lets its pods reach Redis: every `submit` would time out",
        ]
    );
}

#[test]
fn a_stress_job_with_a_flag_submit_lacks_is_caught() {
    let mut objects = stress_with_base();
    stress_container(&mut objects)["args"]
        .as_mut_vec()
        .expect("args")
        .push(string("--repeat=2"));
    let problems = stress::problems(&objects, &workspace());
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].starts_with("Job stress: `submit` refuses its arguments: ")
            && problems[0].contains("--repeat"),
        "{problems:#?}"
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
