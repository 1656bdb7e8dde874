//! What any autoscaler needs of the Deployment it scales, and what the HPA overlay's
//! autoscaler is: the Deployment exists, leaves `replicas` to the autoscaler, and
//! requests every resource a Utilization target is a percentage of.

use yaml_rust2::Yaml;

use super::render::Objects;

/// The problems of the Deployment `target` as `owner` (`HorizontalPodAutoscaler
/// worker-hpa`) scales it on the `utilization` resources (`cpu`, `memory`).
pub fn target_problems(
    objects: &Objects,
    owner: &str,
    target: &Yaml,
    utilization: &[String],
) -> Vec<String> {
    let (api, kind, name) = (
        target["apiVersion"].as_str().unwrap_or("?"),
        target["kind"].as_str().unwrap_or("?"),
        target["name"].as_str().unwrap_or("?"),
    );
    if (api, kind) != ("apps/v1", "Deployment") {
        return vec![format!(
            "{owner} scales {api} {kind} {name}; the workers are an apps/v1 Deployment"
        )];
    }
    let Some(deployment) = objects.find("Deployment", name) else {
        return vec![format!(
            "{owner} scales Deployment {name}, which the render does not have"
        )];
    };
    let mut problems = Vec::new();
    if let Some(replicas) = deployment["spec"]["replicas"].as_i64() {
        problems.push(format!(
            "Deployment {name} sets replicas: {replicas}: every `kubectl apply` would undo what \
             {owner} decided"
        ));
    }
    let containers = deployment["spec"]["template"]["spec"]["containers"]
        .as_vec()
        .map_or(&[][..], Vec::as_slice);
    for container in containers {
        let container_name = container["name"].as_str().unwrap_or("?");
        for resource in utilization {
            if container["resources"]["requests"][resource.as_str()].is_badvalue() {
                problems.push(format!(
                    "Deployment {name}, container {container_name}: requests no {resource}, so \
                     {owner}'s {resource} Utilization target has no percentage to compute, and \
                     never scales"
                ));
            }
        }
    }
    problems
}

/// The problems of every HorizontalPodAutoscaler of a render.
pub fn hpa_problems(objects: &Objects) -> Vec<String> {
    let mut problems = Vec::new();
    for hpa in objects.of_kind("HorizontalPodAutoscaler") {
        let owner = format!(
            "HorizontalPodAutoscaler {}",
            hpa["metadata"]["name"].as_str().unwrap_or("?")
        );
        let spec = &hpa["spec"];
        let (min, max) = (
            spec["minReplicas"].as_i64().unwrap_or(1),
            spec["maxReplicas"].as_i64().unwrap_or(0),
        );
        if !(1..=max).contains(&min) {
            problems.push(format!(
                "{owner}: minReplicas {min} must be at least 1 and at most maxReplicas {max}"
            ));
        }
        let utilization: Vec<String> = spec["metrics"]
            .as_vec()
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .filter(|metric| metric["type"].as_str() == Some("Resource"))
            .filter(|metric| metric["resource"]["target"]["type"].as_str() == Some("Utilization"))
            .filter_map(|metric| metric["resource"]["name"].as_str().map(str::to_owned))
            .collect();
        problems.extend(target_problems(
            objects,
            &owner,
            &spec["scaleTargetRef"],
            &utilization,
        ));
    }
    problems
}
