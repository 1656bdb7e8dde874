//! Exercise 7.1: labels and selectors.

use std::collections::BTreeMap;

use super::{LabelSelector, Operator, PodTemplate, Selecting, SelectorError};

/// Exercise 7.1, part 1: whether `selector` selects a pod with `labels`.
pub fn selects(
    selector: &LabelSelector,
    labels: &BTreeMap<String, String>,
) -> Result<bool, SelectorError> {
    validate(selector)?;
    let by_labels = selector
        .match_labels
        .iter()
        .all(|(key, value)| labels.get(key) == Some(value));
    let by_expressions = selector.match_expressions.iter().all(|requirement| {
        let value = labels.get(&requirement.key);
        let listed = value.is_some_and(|v| requirement.values.contains(v));
        match requirement.operator {
            Operator::In => listed,
            Operator::NotIn => !listed,
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
        }
    });
    Ok(by_labels && by_expressions)
}

/// The first expression Kubernetes would refuse.
fn validate(selector: &LabelSelector) -> Result<(), SelectorError> {
    for requirement in &selector.match_expressions {
        let (needs_values, has_values) = (
            matches!(requirement.operator, Operator::In | Operator::NotIn),
            !requirement.values.is_empty(),
        );
        if needs_values != has_values {
            let reason = if needs_values {
                format!("{:?} needs at least one value", requirement.operator)
            } else {
                format!("{:?} takes no values", requirement.operator)
            };
            return Err(SelectorError {
                key: requirement.key.clone(),
                reason,
            });
        }
    }
    Ok(())
}

/// Exercise 7.1, part 2: the objects whose selector selects none of the pods `templates`
/// will make.
pub fn selecting_nothing<'a>(
    objects: &'a [Selecting],
    templates: &[PodTemplate],
) -> Result<Vec<&'a Selecting>, SelectorError> {
    let mut nothing = Vec::new();
    for object in objects {
        validate(&object.selector)?;
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
