//! The kind overlay (`k8s/overlays/final`) agrees with the binary: session 07's status
//! API Deployment now runs this session's API on the cluster's Redis, with flags the
//! binary takes, the probes it answers, the memory its limits need and a writable /tmp;
//! the workers run this session's image.
//!
//! The render comes from `kubectl kustomize`, so these tests are ignored where kubectl
//! may be missing; `cargo xtask manifests` runs them, or run `cargo test -p
//! session10_final --test manifests -- --include-ignored`.

/// Rendering and reading manifests: session 07's checker's, shared.
#[allow(dead_code)]
#[path = "../../session07_k8s/tests/manifests/render.rs"]
mod render;

use clap::Parser;
use session10_final::routes::{API_HEALTH, API_READY};
use session10_final::server::ServeArgs;
use yaml_rust2::Yaml;

use render::{Objects, k8s_dir};

/// The API's Deployment keeps session 07's name: its Service, NodePort and Ingress find it.
const API: &str = "status-api-deployment";

fn render() -> Objects {
    Objects::kustomize(&k8s_dir().join("overlays/final"))
}

fn container<'a>(objects: &'a Objects, name: &str) -> &'a Yaml {
    &objects
        .find("Deployment", name)
        .unwrap_or_else(|| panic!("no {name}"))["spec"]["template"]["spec"]["containers"][0]
}

fn strings(list: &Yaml) -> Vec<&str> {
    list.as_vec()
        .map(|items| items.iter().filter_map(Yaml::as_str).collect())
        .unwrap_or_default()
}

/// The binary's default command, with its flags.
#[derive(Debug, Parser)]
struct Serve {
    #[command(flatten)]
    serve: ServeArgs,
}

#[test]
#[ignore = "needs kubectl: `cargo xtask manifests` runs it"]
fn the_api_deployment_runs_this_sessions_api_on_the_clusters_redis() {
    let objects = render();
    for name in ["worker-deployment", API] {
        let container = container(&objects, name);
        assert_eq!(
            container["image"].as_str(),
            Some("session10-final:v1"),
            "{name}"
        );
        assert_eq!(
            container["imagePullPolicy"].as_str(),
            Some("Never"),
            "{name}"
        );
    }
    let api = container(&objects, API);
    let args = strings(&api["args"]);
    assert_eq!(args, ["--redis", "$(REDIS_URL)", "--workers", "1"]);
    // $(REDIS_URL) is filled from the container's own variable: it must be there.
    let env: Vec<&str> = api["env"]
        .as_vec()
        .expect("env")
        .iter()
        .filter_map(|var| var["name"].as_str())
        .collect();
    for name in ["REDIS_URL", "REDIS_PASSWORD", "API_LISTEN"] {
        assert!(env.contains(&name), "{name} not in {env:?}");
    }
    // The binary takes these flags (the URL as Kubernetes fills it in).
    let filled = args
        .iter()
        .map(|arg| arg.replace("$(REDIS_URL)", "redis://redis:6379"));
    let parsed = Serve::try_parse_from(std::iter::once("session10_final".to_owned()).chain(filled))
        .expect("the Deployment's args parse");
    assert_eq!(parsed.serve.redis.as_deref(), Some("redis://redis:6379"));
    assert_eq!(parsed.serve.workers, Some(1));
}

#[test]
#[ignore = "needs kubectl: `cargo xtask manifests` runs it"]
fn its_probes_ask_the_routes_the_api_answers_and_it_has_room_to_work() {
    let objects = render();
    let api = container(&objects, API);
    assert_eq!(
        api["livenessProbe"]["httpGet"]["path"].as_str(),
        Some(API_HEALTH)
    );
    assert_eq!(
        api["readinessProbe"]["httpGet"]["path"].as_str(),
        Some(API_READY)
    );
    assert_eq!(api["resources"]["limits"]["memory"].as_str(), Some("512Mi"));
    // A read-only root, and /tmp writable for /api/compare.
    assert_eq!(
        api["securityContext"]["readOnlyRootFilesystem"].as_bool(),
        Some(true)
    );
    assert_eq!(api["volumeMounts"][0]["mountPath"].as_str(), Some("/tmp"));
    let pod = &objects.find("Deployment", API).unwrap()["spec"]["template"]["spec"];
    assert_eq!(pod["volumes"][0]["name"].as_str(), Some("tmp"));
    assert!(!pod["volumes"][0]["emptyDir"].is_badvalue());
}
