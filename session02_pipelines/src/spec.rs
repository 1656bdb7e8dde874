//! The filter-spec language: a pipeline written as text or as JSON.
//!
//! Text is for people: `resize:width=800,height=600|blur:sigma=3|edges`. Stages are separated
//! by `|`, a stage is a filter name with optional `key=value` parameters after a `:`,
//! separated by `,`; spaces around tokens are allowed. JSON is for programs, and is what the
//! task queue carries from session 03 on:
//! `{"filters":[{"name":"resize","width":800,"height":600},{"name":"blur","sigma":3}]}`.
//!
//! Both parse into the same [`PipelineSpec`], and [`PipelineSpec::build`] checks every name
//! and parameter against session 01's catalog. A mistake in text is reported with the
//! offending token underlined, so the user sees where, not only what.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use session01_image_basics::{Filter, ParamError, find};

use crate::pipeline::{Kernels, Pipeline};

/// A pipeline as data: filter names and their parameters, in order.
// ANCHOR: spec
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineSpec {
    /// The stages, applied first to last.
    pub filters: Vec<FilterSpec>,
}

/// One stage: a filter's name and its parameters as text, exactly as a user gave them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterSpec {
    /// The filter's name in the catalog.
    pub name: String,
    /// Its parameters; in JSON they sit next to `name`.
    #[serde(flatten, with = "json_values")]
    pub params: BTreeMap<String, String>,
}
// ANCHOR_END: spec

/// A spec that could not be parsed or built: what is wrong, and where in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// What is wrong.
    pub message: String,
    /// The text and the byte range of the offending token, when the spec came as text.
    pub location: Option<(String, Range<usize>)>,
}

impl std::error::Error for SpecError {}

impl fmt::Display for SpecError {
    /// The message, then the text with the token underlined:
    ///
    /// ```text
    /// unknown filter "blurr"; valid filters: grayscale, ...
    ///   resize:width=800|blurr:sigma=3
    ///                    ^^^^^
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some((text, range)) = &self.location {
            let before = text[..range.start].chars().count();
            let width = text[range.clone()].chars().count().max(1);
            write!(
                f,
                "\n  {text}\n  {}{}",
                " ".repeat(before),
                "^".repeat(width)
            )?;
        }
        Ok(())
    }
}

impl SpecError {
    fn at(message: impl Into<String>, text: &str, range: Range<usize>) -> Self {
        Self {
            message: message.into(),
            location: Some((text.to_owned(), range)),
        }
    }

    fn plain(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            location: None,
        }
    }
}

/// Each parameter's key and the range of its whole `key=value` token.
type ParamSpans = Vec<(String, Range<usize>)>;

/// Where each token of a parsed text spec was, to point at it when building fails.
#[derive(Debug, Clone, Default)]
struct Spans {
    /// Per stage: the name's range and its parameters.
    stages: Vec<(Range<usize>, ParamSpans)>,
}

impl PipelineSpec {
    /// Parses the text form.
    pub fn parse(text: &str) -> Result<Self, SpecError> {
        Self::parse_with_spans(text).map(|(spec, _)| spec)
    }

    /// Parses JSON (`{"filters":[...]}`).
    pub fn from_json(json: &str) -> Result<Self, SpecError> {
        serde_json::from_str(json).map_err(|e| SpecError::plain(format!("invalid JSON spec: {e}")))
    }

    /// Parses either form: JSON when the text starts with `{`.
    pub fn parse_any(text: &str) -> Result<Self, SpecError> {
        if text.trim_start().starts_with('{') {
            Self::from_json(text)
        } else {
            Self::parse(text)
        }
    }

    /// The JSON form.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Checks every filter and parameter against the catalog and builds the pipeline.
    pub fn build(&self) -> Result<Pipeline, SpecError> {
        self.build_with(Kernels::Fast)
    }

    /// Builds the pipeline with the chosen kernels (session 01's, for comparisons).
    pub fn build_with(&self, kernels: Kernels) -> Result<Pipeline, SpecError> {
        self.build_located(None, kernels)
    }

    /// Parses text and builds it, pointing at the offending token on any error.
    // ANCHOR: parse_and_build
    pub fn parse_and_build(text: &str) -> Result<Pipeline, SpecError> {
        if text.trim_start().starts_with('{') {
            return Self::from_json(text)?.build();
        }
        let (spec, spans) = Self::parse_with_spans(text)?;
        spec.build_located(Some((text, &spans)), Kernels::Fast)
    }
    // ANCHOR_END: parse_and_build

    fn parse_with_spans(text: &str) -> Result<(Self, Spans), SpecError> {
        if text.trim().is_empty() {
            return Err(SpecError::at(
                "empty pipeline: give at least one filter, e.g. blur:sigma=2",
                text,
                0..text.len(),
            ));
        }
        let mut filters = Vec::new();
        let mut spans = Spans::default();
        for stage in split_spanned(text, 0..text.len(), '|') {
            let (head, params) = match text[stage.clone()].find(':') {
                Some(colon) => {
                    let colon = stage.start + colon;
                    (stage.start..colon, Some(colon + 1..stage.end))
                }
                None => (stage.clone(), None),
            };
            let name_range = trim(text, head);
            let name = &text[name_range.clone()];
            if name.is_empty() {
                return Err(SpecError::at(
                    "a stage without a filter name (two `|` in a row, or one at an end?)",
                    text,
                    stage,
                ));
            }
            if let Some(bad) =
                name.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            {
                let at = name_range.start + bad;
                return Err(SpecError::at(
                    format!(
                        "unexpected {:?} in the filter name {name:?}",
                        &name[bad..bad + 1]
                    ),
                    text,
                    at..at + 1,
                ));
            }
            let mut stage_params = BTreeMap::new();
            let mut param_spans = Vec::new();
            if let Some(params) = params {
                for param in split_spanned(text, params, ',') {
                    let param = trim(text, param);
                    let token = &text[param.clone()];
                    let Some(eq) = token.find('=') else {
                        return Err(SpecError::at(
                            format!("expected KEY=VALUE, got {token:?}"),
                            text,
                            param,
                        ));
                    };
                    let key = token[..eq].trim();
                    let value = token[eq + 1..].trim();
                    if key.is_empty() || value.is_empty() {
                        return Err(SpecError::at(
                            format!("expected KEY=VALUE, got {token:?}"),
                            text,
                            param,
                        ));
                    }
                    if stage_params
                        .insert(key.to_owned(), value.to_owned())
                        .is_some()
                    {
                        return Err(SpecError::at(
                            format!("{name}: parameter {key:?} is given more than once"),
                            text,
                            param,
                        ));
                    }
                    param_spans.push((key.to_owned(), param));
                }
            }
            filters.push(FilterSpec {
                name: name.to_owned(),
                params: stage_params,
            });
            spans.stages.push((name_range, param_spans));
        }
        Ok((Self { filters }, spans))
    }

    fn build_located(
        &self,
        located: Option<(&str, &Spans)>,
        kernels: Kernels,
    ) -> Result<Pipeline, SpecError> {
        if self.filters.is_empty() {
            return Err(SpecError::plain("empty pipeline: give at least one filter"));
        }
        let mut built: Vec<Box<dyn Filter>> = Vec::with_capacity(self.filters.len());
        for (index, stage) in self.filters.iter().enumerate() {
            let result = find(&stage.name).and_then(|info| {
                let pairs: Vec<(String, String)> = stage
                    .params
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                info.build_from(&pairs)
            });
            match result {
                Ok(filter) => built.push(filter),
                Err(error) => {
                    let Some((text, spans)) = located else {
                        return Err(SpecError::plain(format!(
                            "filter {} ({}): {error}",
                            index + 1,
                            stage.name
                        )));
                    };
                    let (name_range, params) = &spans.stages[index];
                    // Point at the parameter the error is about, else at the filter's name.
                    let range = error_param(&error)
                        .and_then(|key| params.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)))
                        .map_or_else(|| name_range.clone(), |(_, range)| range.clone());
                    return Err(SpecError::at(error.to_string(), text, range));
                }
            }
        }
        Ok(Pipeline::with_kernels(built, kernels))
    }
}

/// The parameter a build error is about, if any.
fn error_param(error: &ParamError) -> Option<&str> {
    match error {
        ParamError::UnknownParam { name, .. } | ParamError::Duplicate { name, .. } => Some(name),
        ParamError::Invalid { name, .. } => Some(name),
        _ => None,
    }
}

/// Splits `range` of `text` at `separator`, returning the pieces' ranges.
fn split_spanned(text: &str, range: Range<usize>, separator: char) -> Vec<Range<usize>> {
    let mut pieces = Vec::new();
    let mut start = range.start;
    for (offset, c) in text[range.clone()].char_indices() {
        if c == separator {
            pieces.push(start..range.start + offset);
            start = range.start + offset + c.len_utf8();
        }
    }
    pieces.push(start..range.end);
    pieces
}

/// `range` without the spaces at its ends.
fn trim(text: &str, range: Range<usize>) -> Range<usize> {
    let piece = &text[range.clone()];
    let start = range.start + (piece.len() - piece.trim_start().len());
    let end = range.end - (piece.len() - piece.trim_end().len());
    start..end.max(start)
}

impl FromStr for PipelineSpec {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<Self, SpecError> {
        Self::parse_any(text)
    }
}

impl fmt::Display for PipelineSpec {
    /// The text form, which parses back into the same spec.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, stage) in self.filters.iter().enumerate() {
            if index > 0 {
                f.write_str("|")?;
            }
            f.write_str(&stage.name)?;
            for (i, (key, value)) in stage.params.iter().enumerate() {
                write!(f, "{}{key}={value}", if i == 0 { ':' } else { ',' })?;
            }
        }
        Ok(())
    }
}

/// JSON parameter values are numbers or strings; the catalog checks them as text.
mod json_values {
    use std::collections::BTreeMap;

    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::Value;

    pub fn serialize<S: Serializer>(
        params: &BTreeMap<String, String>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        // Numbers go out as numbers, so the JSON reads naturally.
        let values: BTreeMap<&String, Value> = params
            .iter()
            .map(|(k, v)| {
                let value = serde_json::from_str::<serde_json::Number>(v)
                    .map_or_else(|_| Value::String(v.clone()), Value::Number);
                (k, value)
            })
            .collect();
        values.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<String, String>, D::Error> {
        let values = BTreeMap::<String, Value>::deserialize(deserializer)?;
        values
            .into_iter()
            .map(|(key, value)| match value {
                Value::Number(n) => Ok((key, n.to_string())),
                Value::String(s) => Ok((key, s)),
                other => Err(D::Error::custom(format!(
                    "parameter {key:?} must be a number or a string, got {other}"
                ))),
            })
            .collect()
    }
}
