//! Label selectors, evaluated as Kubernetes does: `matchLabels` and `matchExpressions`
//! (`In`, `NotIn`, `Exists`, `DoesNotExist`), all of which must hold. An empty selector
//! matches every set of labels.

use yaml_rust2::Yaml;
use yaml_rust2::yaml::Hash;

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

/// A namespace's labels: those its manifest gives it, if the objects have it, and the
/// `kubernetes.io/metadata.name` label every namespace gets.
pub fn namespace_labels(namespace: Option<&Yaml>, name: &str) -> Yaml {
    let mut labels = namespace
        .and_then(|object| object["metadata"]["labels"].as_hash())
        .cloned()
        .unwrap_or_else(Hash::new);
    labels.insert(
        Yaml::String("kubernetes.io/metadata.name".to_owned()),
        Yaml::String(name.to_owned()),
    );
    Yaml::Hash(labels)
}
