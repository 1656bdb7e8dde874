//! What session 08's checks add to session 07's shared `render` and `selector`: session
//! 07's folder, YAML values from text, and who may reach Redis through the NetworkPolicies.

use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

use super::render::Objects;
use super::selector::matches;

/// Session 07's `k8s/` folder, which the overlays build on.
pub fn session07_k8s_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../session07_k8s/k8s")
}

/// One YAML value, written as YAML.
pub fn yaml(text: &str) -> Yaml {
    YamlLoader::load_from_str(text).expect("YAML").remove(0)
}

/// A value as text: a string as it is, a number written out, anything else as `None`.
pub fn text(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(text) => Some(text.clone()),
        Yaml::Integer(number) => Some(number.to_string()),
        Yaml::Real(number) => Some(number.clone()),
        Yaml::Boolean(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// Whether a NetworkPolicy of `policies` that selects `to` (a pod's labels) lets in a
/// peer that `admits` accepts, on `port` (a rule without ports admits every port).
pub fn admitted<'a>(
    mut policies: impl Iterator<Item = &'a Yaml>,
    to: &Yaml,
    port: Option<i64>,
    admits: impl Fn(&Yaml) -> bool,
) -> bool {
    policies.any(|policy| {
        matches(&policy["spec"]["podSelector"], to)
            && policy["spec"]["ingress"]
                .as_vec()
                .into_iter()
                .flatten()
                .any(|rule| {
                    let on_port = rule["ports"].is_badvalue()
                        || rule["ports"]
                            .as_vec()
                            .into_iter()
                            .flatten()
                            .any(|entry| entry["port"].as_i64() == port);
                    on_port && rule["from"].as_vec().into_iter().flatten().any(&admits)
                })
    })
}

/// Redis's pod labels and its port, from its StatefulSet.
pub fn redis_pod(objects: &Objects) -> Option<(&Yaml, Option<i64>)> {
    let template = &objects.find("StatefulSet", "redis")?["spec"]["template"];
    Some((
        &template["metadata"]["labels"],
        template["spec"]["containers"][0]["ports"][0]["containerPort"].as_i64(),
    ))
}
