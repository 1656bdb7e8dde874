//! A `behavior` block as a list of named values (`scaleDown.policies[0].value` = `50`),
//! made from the crate's [`Behavior`] or from a manifest's YAML, so that two blocks are
//! compared field by field and every difference is named.

use session08_scaling::hpa::{Behavior, PolicyKind, Rules, SelectPolicy};
use yaml_rust2::Yaml;

use super::reading::text;

/// Each field's path and value, in the order Kubernetes documents them.
pub type Fields = Vec<(String, String)>;

/// The two directions, as the manifest names them.
const DIRECTIONS: [&str; 2] = ["scaleUp", "scaleDown"];

/// What a manifest holds where a field is missing.
const MISSING: &str = "(missing)";

/// The crate's behaviour, as the manifest would write it.
pub fn of_autoscaler(behavior: &Behavior) -> Fields {
    let mut fields = Fields::new();
    for (direction, rules) in DIRECTIONS
        .iter()
        .zip([&behavior.scale_up, &behavior.scale_down])
    {
        add_rules(&mut fields, direction, rules);
    }
    fields
}

fn add_rules(fields: &mut Fields, direction: &str, rules: &Rules) {
    let mut add = |name: String, value: String| fields.push((format!("{direction}.{name}"), value));
    add(
        "stabilizationWindowSeconds".to_owned(),
        seconds(rules.stabilization_window.as_secs_f64()),
    );
    let select = match rules.select {
        SelectPolicy::Max => "Max",
        SelectPolicy::Min => "Min",
        SelectPolicy::Disabled => "Disabled",
    };
    add("selectPolicy".to_owned(), select.to_owned());
    for (n, policy) in rules.policies.iter().enumerate() {
        let kind = match policy.kind {
            PolicyKind::Pods => "Pods",
            PolicyKind::Percent => "Percent",
        };
        add(format!("policies[{n}].type"), kind.to_owned());
        add(format!("policies[{n}].value"), policy.value.to_string());
        add(
            format!("policies[{n}].periodSeconds"),
            seconds(policy.period.as_secs_f64()),
        );
    }
}

/// Seconds as a manifest writes them: `30`, not `30.0`.
fn seconds(value: f64) -> String {
    format!("{value}")
}

/// A manifest's `behavior` block (of an HPA, or of KEDA's `horizontalPodAutoscalerConfig`).
/// A field it leaves out is listed as missing: Kubernetes would fill in its default, and
/// the point is that the manifest says the numbers.
pub fn of_manifest(block: &Yaml) -> Fields {
    let mut fields = Fields::new();
    for direction in DIRECTIONS {
        let rules = &block[direction];
        let mut add = |name: String, value: &Yaml| {
            fields.push((
                format!("{direction}.{name}"),
                text(value).unwrap_or_else(|| MISSING.to_owned()),
            ));
        };
        add(
            "stabilizationWindowSeconds".to_owned(),
            &rules["stabilizationWindowSeconds"],
        );
        add("selectPolicy".to_owned(), &rules["selectPolicy"]);
        let policies = rules["policies"].as_vec().map_or(&[][..], Vec::as_slice);
        for (n, policy) in policies.iter().enumerate() {
            for name in ["type", "value", "periodSeconds"] {
                add(format!("policies[{n}].{name}"), &policy[name]);
            }
        }
    }
    fields
}

/// Every field whose values differ, or that only one side has, named:
/// `scaleDown.policies[0].value: the manifest says 40, the autoscaler 50`.
pub fn differences(manifest: &Fields, autoscaler: &Fields) -> Vec<String> {
    let value = |fields: &Fields, name: &str| -> String {
        fields
            .iter()
            .find(|(field, _)| field == name)
            .map_or_else(|| "nothing".to_owned(), |(_, value)| value.clone())
    };
    let mut names: Vec<&str> = autoscaler.iter().map(|(name, _)| name.as_str()).collect();
    for (name, _) in manifest {
        if !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    names
        .into_iter()
        .filter_map(|name| {
            let (said, wanted) = (value(manifest, name), value(autoscaler, name));
            (said != wanted)
                .then(|| format!("{name}: the manifest says {said}, the autoscaler {wanted}"))
        })
        .collect()
}
