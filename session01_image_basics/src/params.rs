//! Filter parameters: what each one accepts, and checking what a user gave.
//!
//! Each parameter is described once, as a [`ParamSpec`] constant: its name, type, range,
//! default and meaning. The same constant validates a value typed on the command line, a
//! value passed from code (`GaussianBlur::new(3.0)`), and feeds `--list`. One source of
//! truth means the help text cannot disagree with the check.

use std::fmt;

use crate::error::ParamError;

/// The type and range of a parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamKind {
    /// A finite number in `min..=max`.
    Float {
        /// Smallest accepted value.
        min: f64,
        /// Largest accepted value.
        max: f64,
    },
    /// A whole number in `min..=max`.
    Int {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// One of a fixed set of words.
    Choice(&'static [&'static str]),
}

impl fmt::Display for ParamKind {
    /// Phrased to complete "must be ...".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Float { min, max } => write!(f, "a number in {min}..={max}"),
            Self::Int { min, max } => write!(f, "a whole number in {min}..={max}"),
            Self::Choice(choices) => write!(f, "one of {}", choices.join(", ")),
        }
    }
}

/// Whether a parameter must be given, and what it is when it is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamDefault {
    /// This value, written as a user would write it.
    Value(&'static str),
    /// The user must give it.
    Required,
    /// It may be left out; the filter says what that means.
    Optional,
}

/// One parameter of a filter.
// ANCHOR: param_spec
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamSpec {
    /// The key, as in `sigma=3`.
    pub name: &'static str,
    /// Type and range.
    pub kind: ParamKind,
    /// Default, or whether it is required.
    pub default: ParamDefault,
    /// What it means, for `--list`.
    pub help: &'static str,
}
// ANCHOR_END: param_spec

impl ParamSpec {
    /// Checks a number against this parameter's range; NaN and infinities never pass.
    pub fn check_float(&self, filter: &'static str, value: f64) -> Result<f64, ParamError> {
        match self.kind {
            ParamKind::Float { min, max } if value.is_finite() && (min..=max).contains(&value) => {
                Ok(value)
            }
            _ => Err(self.invalid(filter, value.to_string())),
        }
    }

    /// Checks a whole number against this parameter's range.
    pub fn check_int(&self, filter: &'static str, value: i64) -> Result<i64, ParamError> {
        match self.kind {
            ParamKind::Int { min, max } if (min..=max).contains(&value) => Ok(value),
            _ => Err(self.invalid(filter, value.to_string())),
        }
    }

    /// Parses text (from a command line or a spec) and checks it.
    fn parse(&self, filter: &'static str, text: &str) -> Result<Value, ParamError> {
        let text = text.trim();
        match self.kind {
            ParamKind::Float { .. } => text
                .parse::<f64>()
                .map_err(|_| self.invalid(filter, format!("{text:?}")))
                .and_then(|v| self.check_float(filter, v))
                .map(Value::Float),
            ParamKind::Int { .. } => text
                .parse::<i64>()
                .map_err(|_| self.invalid(filter, format!("{text:?}")))
                .and_then(|v| self.check_int(filter, v))
                .map(Value::Int),
            ParamKind::Choice(choices) => choices
                .iter()
                .find(|c| c.eq_ignore_ascii_case(text))
                .map(|c| Value::Choice(c))
                .ok_or_else(|| self.invalid(filter, format!("{text:?}"))),
        }
    }

    fn invalid(&self, filter: &'static str, value: String) -> ParamError {
        ParamError::Invalid {
            filter,
            name: self.name,
            value,
            expected: self.kind.to_string(),
        }
    }
}

/// A checked parameter value.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Value {
    Float(f64),
    Int(i64),
    Choice(&'static str),
}

/// Splits `KEY=VALUE` into its two halves.
pub fn split_key_value(text: &str) -> Result<(String, String), ParamError> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(ParamError::Malformed {
            text: text.to_owned(),
        }),
    }
}

/// A filter's parameters after checking: every key known, none twice, every value in range.
#[derive(Debug, Clone)]
pub struct Args {
    filter: &'static str,
    specs: &'static [ParamSpec],
    values: Vec<(&'static str, Value)>,
}

impl Args {
    /// Checks raw `(key, value)` pairs against a filter's parameter list.
    pub fn check(
        filter: &'static str,
        specs: &'static [ParamSpec],
        pairs: &[(String, String)],
    ) -> Result<Self, ParamError> {
        let mut values: Vec<(&'static str, Value)> = Vec::with_capacity(pairs.len());
        for (key, text) in pairs {
            let spec = specs
                .iter()
                .find(|s| s.name == key.as_str())
                .ok_or_else(|| ParamError::UnknownParam {
                    filter,
                    name: key.clone(),
                    valid: specs.iter().map(|s| s.name).collect(),
                })?;
            if values.iter().any(|(name, _)| *name == spec.name) {
                return Err(ParamError::Duplicate {
                    filter,
                    name: key.clone(),
                });
            }
            values.push((spec.name, spec.parse(filter, text)?));
        }
        for spec in specs {
            let given = values.iter().any(|(name, _)| *name == spec.name);
            match spec.default {
                ParamDefault::Required if !given => {
                    return Err(ParamError::Missing {
                        filter,
                        name: spec.name,
                        expected: spec.kind.to_string(),
                    });
                }
                ParamDefault::Value(text) if !given => {
                    values.push((spec.name, spec.parse(filter, text)?));
                }
                _ => {}
            }
        }
        Ok(Self {
            filter,
            specs,
            values,
        })
    }

    /// The value of a number parameter (given or defaulted).
    pub fn float(&self, name: &'static str) -> Result<f64, ParamError> {
        match self.get(name) {
            Some(Value::Float(v)) => Ok(v),
            Some(Value::Int(v)) => Ok(v as f64),
            _ => Err(self.missing(name)),
        }
    }

    /// The value of a whole-number parameter (given or defaulted).
    pub fn int(&self, name: &'static str) -> Result<i64, ParamError> {
        self.optional_int(name).ok_or_else(|| self.missing(name))
    }

    /// The value of an optional whole-number parameter, `None` when left out.
    pub fn optional_int(&self, name: &str) -> Option<i64> {
        match self.get(name)? {
            Value::Int(v) => Some(v),
            _ => None,
        }
    }

    /// The value of a choice parameter (given or defaulted).
    pub fn choice(&self, name: &'static str) -> Result<&'static str, ParamError> {
        match self.get(name) {
            Some(Value::Choice(v)) => Ok(v),
            _ => Err(self.missing(name)),
        }
    }

    fn missing(&self, name: &'static str) -> ParamError {
        let expected = self
            .specs
            .iter()
            .find(|s| s.name == name)
            .map_or_else(|| "a value".to_owned(), |s| s.kind.to_string());
        ParamError::Missing {
            filter: self.filter,
            name,
            expected,
        }
    }

    /// The filter these arguments are for.
    pub fn filter(&self) -> &'static str {
        self.filter
    }

    /// The parameter descriptions they were checked against.
    pub fn specs(&self) -> &'static [ParamSpec] {
        self.specs
    }

    fn get(&self, name: &str) -> Option<Value> {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }
}
