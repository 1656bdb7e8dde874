//! Shortcut for exercise 7.1: `NotIn` read as "the label is set, to another value", so a
//! pod without the label is not selected. A NetworkPolicy meant for "every pod but the
//! canaries" then leaves out every pod that has no `track` label at all, which is most.
//! `ex07_1_not_in_selects_pods_without_the_label` catches it.

use std::collections::BTreeMap;

use super::{LabelSelector, Operator, PodTemplate, Selecting, SelectorError};

/// Exercise 7.1, part 1: whether `selector` selects a pod with `labels`.
pub fn selects(
    selector: &LabelSelector,
    labels: &BTreeMap<String, String>,
) -> Result<bool, SelectorError> {
    for requirement in &selector.match_expressions {
        let needs_values = matches!(requirement.operator, Operator::In | Operator::NotIn);
        if needs_values == requirement.values.is_empty() {
            return Err(SelectorError {
                key: requirement.key.clone(),
                reason: "wrong number of values".to_owned(),
            });
        }
    }
    let by_labels = selector
        .match_labels
        .iter()
        .all(|(key, value)| labels.get(key) == Some(value));
    let by_expressions = selector.match_expressions.iter().all(|requirement| {
        let value = labels.get(&requirement.key);
        match requirement.operator {
            Operator::In => value.is_some_and(|v| requirement.values.contains(v)),
            Operator::NotIn => value.is_some_and(|v| !requirement.values.contains(v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
        }
    });
    Ok(by_labels && by_expressions)
}

/// Exercise 7.1, part 2: the objects whose selector selects none of the pods `templates`
/// will make.
pub fn selecting_nothing<'a>(
    objects: &'a [Selecting],
    templates: &[PodTemplate],
) -> Result<Vec<&'a Selecting>, SelectorError> {
    let mut nothing = Vec::new();
    for object in objects {
        selects(&object.selector, &BTreeMap::new())?;
        if object.kind == "Service" && object.selector == LabelSelector::default() {
            continue;
        }
        let mut found = false;
        for template in templates.iter().filter(|t| t.namespace == object.namespace) {
            found = found || selects(&object.selector, &template.labels)?;
        }
        if !found {
            nothing.push(object);
        }
    }
    Ok(nothing)
}
