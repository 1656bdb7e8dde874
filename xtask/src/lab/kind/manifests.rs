//! The names the plan uses (namespace, workloads, container, Services, ports, the Ingress's
//! path, the Job, the cluster's port mappings) checked against the manifests that define
//! them, so a renamed object cannot leave a lab command pointing at nothing.

use std::path::Path;

use yaml_rust2::{Yaml, YamlLoader};

use super::plan::{IMAGE_V1, SLOW_WORKERS};

/// Every object in the YAML files under `dirs` (relative to `session07_k8s/k8s`).
fn objects(root: &Path, dirs: &[&str]) -> Vec<Yaml> {
    let mut objects = Vec::new();
    for dir in dirs {
        let dir = root.join("session07_k8s/k8s").join(dir);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
            .collect();
        files.sort();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let docs = YamlLoader::load_from_str(&text)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            objects.extend(docs.into_iter().filter(|doc| !doc.is_null()));
        }
    }
    objects
}

#[test]
fn the_manifests_define_what_the_plan_names() {
    let root = crate::workspace_root();
    let objects = objects(&root, &["base", "overlays/kind", "jobs", "kind"]);
    let find = |kind: &str, name: &str| -> &Yaml {
        objects
            .iter()
            .find(|o| {
                o["kind"].as_str() == Some(kind) && o["metadata"]["name"].as_str() == Some(name)
            })
            .unwrap_or_else(|| panic!("the plan names {kind} {name}; no manifest defines it"))
    };
    let containers = |object: &Yaml| -> Vec<(String, String)> {
        object["spec"]["template"]["spec"]["containers"]
            .as_vec()
            .into_iter()
            .flatten()
            .map(|c| {
                let text = |key: &str| c[key].as_str().unwrap_or_default().to_owned();
                (text("name"), text("image"))
            })
            .collect()
    };
    find("Namespace", "imgproc");
    find("StatefulSet", "redis");
    find("Deployment", "status-api-deployment");
    // `set image ... worker=session07-k8s:v2`, and `rollout undo` back to v1.
    let worker = find("Deployment", "worker-deployment");
    assert!(
        containers(worker).contains(&("worker".to_owned(), IMAGE_V1.to_owned())),
        "the workers' Deployment has no container `worker` running {IMAGE_V1}"
    );
    let job = find("Job", "submit-samples");
    assert!(containers(job).iter().all(|(_, image)| image == IMAGE_V1));
    let ports = |service: &Yaml, key: &str| -> Vec<i64> {
        service["spec"]["ports"]
            .as_vec()
            .into_iter()
            .flatten()
            .filter_map(|port| port[key].as_i64())
            .collect()
    };
    // `port-forward service/status-api-service 8080:80`.
    assert!(ports(find("Service", "status-api-service"), "port").contains(&80));
    assert!(ports(find("Service", "status-api-nodeport"), "nodePort").contains(&30080));
    // `curl http://localhost/api/health`: any host, a path under /api.
    let ingress = find("Ingress", "status-api-ingress");
    let rules = ingress["spec"]["rules"]
        .as_vec()
        .expect("the Ingress has rules");
    assert!(rules.iter().any(|rule| {
        rule["host"].is_badvalue()
            && rule["http"]["paths"]
                .as_vec()
                .into_iter()
                .flatten()
                .any(|path| path["path"].as_str() == Some("/api"))
    }));
    // localhost:80 (the Ingress) and localhost:30080 (the NodePort) reach the node.
    let cluster = objects
        .iter()
        .find(|o| o["kind"].as_str() == Some("Cluster"))
        .expect("no kind Cluster in k8s/kind");
    let mapped: Vec<i64> = cluster["nodes"]
        .as_vec()
        .into_iter()
        .flatten()
        .flat_map(|node| node["extraPortMappings"].as_vec().into_iter().flatten())
        .filter_map(|mapping| mapping["hostPort"].as_i64())
        .collect();
    for port in [80, 30080] {
        assert!(
            mapped.contains(&port),
            "the cluster maps no host port {port}"
        );
    }
}

#[test]
fn the_drills_slow_tasks_end_within_a_drain() {
    let root = crate::workspace_root();
    let objects = objects(&root, &["base"]);
    let config = objects
        .iter()
        .find(|o| o["kind"].as_str() == Some("ConfigMap"))
        .expect("the ConfigMap");
    let seconds = |key: &str| -> f64 {
        config["data"][key]
            .as_str()
            .and_then(|text| text.parse().ok())
            .unwrap_or_else(|| panic!("the ConfigMap has no number {key}"))
    };
    let delay: f64 = SLOW_WORKERS
        .words()
        .iter()
        .find_map(|word| word.strip_prefix("WORKER_DELAY="))
        .and_then(|text| text.parse().ok())
        .expect("the drill sets WORKER_DELAY");
    // Long enough that a stopped pod holds its tasks a while, short enough that its drain
    // (and a task's own deadline) lets them finish.
    assert!(delay >= 10.0, "WORKER_DELAY={delay}");
    for limit in ["SHUTDOWN_GRACE", "TASK_TIMEOUT"] {
        assert!(delay < seconds(limit), "WORKER_DELAY={delay} >= {limit}");
    }
}

#[test]
fn the_kind_overlay_never_forbids_pulling_redis() {
    // The node pulls Redis's image (no `kind load` for it): its policy must allow a pull.
    let root = crate::workspace_root();
    let objects = objects(&root, &["base", "overlays/kind"]);
    let redis = objects
        .iter()
        .find(|o| o["kind"].as_str() == Some("StatefulSet"))
        .expect("Redis's StatefulSet");
    let policy = redis["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"].as_str();
    assert_ne!(policy, Some("Never"));
    let kustomization = objects
        .iter()
        .find(|o| o["kind"].as_str() == Some("Kustomization") && !o["patches"].is_badvalue())
        .expect("the kind overlay's patches");
    for patch in kustomization["patches"].as_vec().into_iter().flatten() {
        assert_eq!(
            patch["target"]["kind"].as_str(),
            Some("Deployment"),
            "the kind overlay patches only Deployments' pull policy"
        );
    }
}

#[test]
fn session08s_manifests_define_what_the_scaling_drill_names() {
    use super::plan::{APPLY_HPA, DELETE_STRESS, GET_HPA, STRESS};
    let root = crate::workspace_root();
    let k8s = root.join("session08_scaling/k8s");
    let read = |file: &str| -> Vec<Yaml> {
        let path = k8s.join(file);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    // `get hpa worker-hpa`: the overlay the plan applies defines it, on the workers.
    assert!(
        APPLY_HPA
            .line
            .ends_with(" session08_scaling/k8s/overlays/hpa")
    );
    let hpa = read("overlays/hpa/hpa.yaml").remove(0);
    assert_eq!(hpa["kind"].as_str(), Some("HorizontalPodAutoscaler"));
    let name = hpa["metadata"]["name"].as_str().unwrap();
    assert!(GET_HPA.words().contains(&name), "{GET_HPA} names no {name}");
    assert_eq!(hpa["metadata"]["namespace"].as_str(), Some("imgproc"));
    assert_eq!(
        hpa["spec"]["scaleTargetRef"]["name"].as_str(),
        Some("worker-deployment")
    );
    // `apply -f .../stress.yaml`, then `delete job stress`.
    assert!(
        STRESS
            .line
            .ends_with(" session08_scaling/k8s/jobs/stress.yaml")
    );
    let job = read("jobs/stress.yaml").remove(0);
    assert_eq!(job["kind"].as_str(), Some("Job"));
    let name = job["metadata"]["name"].as_str().unwrap();
    assert!(DELETE_STRESS.words().contains(&name), "{DELETE_STRESS}");
    // Its pods run the image the lab loads.
    let image = job["spec"]["template"]["spec"]["containers"][0]["image"].as_str();
    assert_eq!(image, Some(IMAGE_V1));
}
