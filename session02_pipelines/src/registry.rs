//! The registry: every filter a spec can name, with its parameters, as text or JSON.
//!
//! It reads session 01's catalog, where each parameter is described once, so the listing
//! cannot disagree with what [`PipelineSpec::build`](crate::PipelineSpec::build) accepts.

use serde::Serialize;
use session01_image_basics::{FilterInfo, ParamDefault, ParamKind, catalog};

/// A filter as `list-filters --json` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FilterEntry {
    /// The name a spec uses.
    pub name: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// Its parameters.
    pub params: Vec<ParamEntry>,
}

/// A parameter as `list-filters --json` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParamEntry {
    /// Its key.
    pub name: &'static str,
    /// `float`, `int` or `choice`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Smallest accepted value (numbers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest accepted value (numbers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Accepted values (choices only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub choices: Option<&'static [&'static str]>,
    /// The default, when it has one.
    pub default: Option<&'static str>,
    /// Whether a spec must give it.
    pub required: bool,
    /// What it means.
    pub help: &'static str,
}

/// Every filter of the catalog, described.
pub fn entries() -> Vec<FilterEntry> {
    catalog().iter().map(entry).collect()
}

fn entry(info: &FilterInfo) -> FilterEntry {
    FilterEntry {
        name: info.name,
        summary: info.summary,
        params: info
            .params
            .iter()
            .map(|spec| {
                let (kind, min, max, choices) = match spec.kind {
                    ParamKind::Float { min, max } => ("float", Some(min), Some(max), None),
                    ParamKind::Int { min, max } => {
                        ("int", Some(min as f64), Some(max as f64), None)
                    }
                    ParamKind::Choice(choices) => ("choice", None, None, Some(choices)),
                };
                ParamEntry {
                    name: spec.name,
                    kind,
                    min,
                    max,
                    choices,
                    default: match spec.default {
                        ParamDefault::Value(value) => Some(value),
                        _ => None,
                    },
                    required: matches!(spec.default, ParamDefault::Required),
                    help: spec.help,
                }
            })
            .collect(),
    }
}

/// The listing as text: one line per filter, one per parameter.
pub fn text() -> String {
    let mut out = String::new();
    for filter in entries() {
        out += &format!("{:<11} {}\n", filter.name, filter.summary);
        for param in filter.params {
            let range = match (param.min, param.max, param.choices) {
                (Some(min), Some(max), _) => format!("{} in {min}..={max}", param.kind),
                (_, _, Some(choices)) => format!("one of {}", choices.join(", ")),
                _ => param.kind.to_owned(),
            };
            let default = match (param.default, param.required) {
                (Some(value), _) => format!("default {value}"),
                (None, true) => "required".to_owned(),
                (None, false) => "optional".to_owned(),
            };
            out += &format!("    {}: {range} ({default}): {}\n", param.name, param.help);
        }
    }
    out
}

/// The listing as pretty-printed JSON.
pub fn json() -> String {
    serde_json::to_string_pretty(&entries()).unwrap_or_default() + "\n"
}
