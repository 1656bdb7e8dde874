//! Exercise 7.1: labels and selectors.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use std::collections::BTreeMap;

use super::{LabelSelector, PodTemplate, Selecting, SelectorError};

// ANCHOR: selects
/// Exercise 7.1, part 1: whether `selector` selects a pod with `labels`.
///
/// Kubernetes ties its objects together by labels, never by name: a Service sends traffic
/// to the pods its selector selects, a Deployment owns the pods its selector selects. A
/// selector selects a pod when *every* one of its terms holds (they are ANDed):
///
/// - each `match_labels` entry `key: value`: the pod has the label `key`, set to `value`;
/// - each `match_expressions` entry, by its operator:
///   - `In`: the pod has the label `key`, set to one of `values`;
///   - `NotIn`: the pod does not have the label `key` set to one of `values`; a pod
///     *without* the label `key` is selected (`NotIn [canary]` selects the pods that are
///     not labelled canary, whether they have the label or not);
///   - `Exists`: the pod has the label `key`, whatever its value;
///   - `DoesNotExist`: the pod does not have the label `key`.
///
/// So a selector with no terms at all selects every pod. The pod's other labels play no
/// part. Values are compared exactly (case and all).
///
/// A selector is checked whole before any pod is looked at, and an invalid one is an error
/// whatever the labels: `In` or `NotIn` with no `values`, or `Exists` or `DoesNotExist`
/// with some. The [`SelectorError`] names the expression's `key` and says what is wrong
/// (the first invalid expression, in order).
pub fn selects(
    selector: &LabelSelector,
    labels: &BTreeMap<String, String>,
) -> Result<bool, SelectorError> {
    todo!("exercise 7.1: selects")
}
// ANCHOR_END: selects

// ANCHOR: selecting_nothing
/// Exercise 7.1, part 2: the objects whose selector selects none of the pods `templates`
/// will make: a Service with no endpoints, a budget or a policy that protects nothing.
/// Kubernetes accepts all of them without a word; a typo in a label is enough.
///
/// An object only selects pods in its own namespace. It selects nothing when [`selects`]
/// is false for every template of its namespace (or when its namespace has none).
/// A Service whose selector is empty is not judged: it is a Service *without* a selector
/// (its endpoints are managed by hand, or it is an `ExternalName`), not one that selects
/// every pod. Every other kind with an empty selector selects every pod of its namespace,
/// as [`selects`] says.
///
/// Returns those objects in the order of `objects`. Every object's selector is checked,
/// also when there is no template to match: the first invalid one is the error.
pub fn selecting_nothing<'a>(
    objects: &'a [Selecting],
    templates: &[PodTemplate],
) -> Result<Vec<&'a Selecting>, SelectorError> {
    todo!("exercise 7.1: selecting_nothing")
}
// ANCHOR_END: selecting_nothing
