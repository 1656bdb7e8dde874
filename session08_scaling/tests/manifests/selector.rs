//! Label selectors, evaluated as Kubernetes does: `matchLabels` and `matchExpressions`
//! (`In`, `NotIn`, `Exists`, `DoesNotExist`), all of which must hold. An empty selector
//! matches every set of labels.

use yaml_rust2::Yaml;

/// Whether `selector` (a LabelSelector) matches `labels` (a map of text to text).
pub fn matches(selector: &Yaml, labels: &Yaml) -> bool {
    let label = |key: &Yaml| key.as_str().and_then(|key| labels[key].as_str());
    let pairs = selector["matchLabels"]
        .as_hash()
        .into_iter()
        .flatten()
        .all(|(key, value)| label(key).is_some_and(|found| Some(found) == value.as_str()));
    let expressions = selector["matchExpressions"]
        .as_vec()
        .into_iter()
        .flatten()
        .all(|expression| {
            let found = label(&expression["key"]);
            let listed = |found: &str| {
                expression["values"]
                    .as_vec()
                    .into_iter()
                    .flatten()
                    .any(|value| value.as_str() == Some(found))
            };
            match expression["operator"].as_str() {
                Some("In") => found.is_some_and(listed),
                Some("NotIn") => !found.is_some_and(listed),
                Some("Exists") => found.is_some(),
                Some("DoesNotExist") => found.is_none(),
                _ => false,
            }
        });
    pairs && expressions
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
pub fn redis_pod(objects: &super::render::Objects) -> Option<(&Yaml, Option<i64>)> {
    let template = &objects.find("StatefulSet", "redis")?["spec"]["template"];
    Some((
        &template["metadata"]["labels"],
        template["spec"]["containers"][0]["ports"][0]["containerPort"].as_i64(),
    ))
}
