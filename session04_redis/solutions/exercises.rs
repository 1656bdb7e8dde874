//! Reference solutions to session 04's exercises (`--features solutions`).

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Number, Value, json};

/// Exercise 4.1: a stream entry's id, `<ms>-<seq>`, ordered by `ms`, then `seq`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId {
    /// Milliseconds since the Unix epoch.
    pub ms: u64,
    /// The sequence number within that millisecond.
    pub seq: u64,
}

impl StreamId {
    /// The smallest id after this one; `None` after `u64::MAX-u64::MAX`.
    pub fn next(self) -> Option<StreamId> {
        match self.seq.checked_add(1) {
            Some(seq) => Some(Self { ms: self.ms, seq }),
            None => self.ms.checked_add(1).map(|ms| Self { ms, seq: 0 }),
        }
    }

    /// How old the entry is at `now_ms`; 0 when its time is ahead of `now_ms`.
    pub fn age_ms(self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.ms)
    }
}

impl FromStr for StreamId {
    type Err = String;

    /// `<ms>-<seq>`, or `<ms>` for `seq` 0; digits only.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() {
            return Err(r#""" is not a stream id: it is empty"#.to_owned());
        }
        let (ms, seq) = match text.split_once('-') {
            Some((_, seq)) if seq.contains('-') => {
                return Err(format!(
                    "{text:?} is not a stream id: it has more than one `-`"
                ));
            }
            Some((ms, seq)) => (ms, Some(seq)),
            None => (text, None),
        };
        let ms = number(text, "milliseconds", ms)?;
        let seq = match seq {
            Some(seq) => number(text, "sequence number", seq)?,
            None => 0,
        };
        Ok(Self { ms, seq })
    }
}

/// One part of an id: digits only, since `u64::from_str` alone would accept a `+`.
fn number(text: &str, part: &str, digits: &str) -> Result<u64, String> {
    if digits.is_empty() {
        return Err(format!(
            "{text:?} is not a stream id: its {part} are missing"
        ));
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{text:?} is not a stream id: its {part} {digits:?} are not all digits"
        ));
    }
    // Only digits, so the one way to fail is a number too large.
    digits.parse().map_err(|_| {
        format!(
            "{text:?} is not a stream id: its {part} {digits} are above {}",
            u64::MAX
        )
    })
}

impl fmt::Display for StreamId {
    /// `<ms>-<seq>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// One entry of a consumer group's pending list, as `XPENDING` reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PendingEntry {
    /// The entry's stream id.
    pub id: String,
    /// The consumer (the worker) it was last delivered to.
    pub consumer: String,
    /// Milliseconds since it was last delivered.
    pub idle_ms: u64,
    /// How many times it has been delivered, the first time included.
    pub deliveries: u32,
}

/// What to do with the expired leases.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReclaimPlan {
    /// The ids to claim and run again.
    pub claim: Vec<String>,
    /// The ids to move to the dead-letter stream.
    pub dead_letter: Vec<String>,
}

/// Exercise 4.2: expired leases are claimed, or dead-lettered once out of deliveries.
pub fn plan_reclaim(pending: &[PendingEntry], lease_ms: u64, max_deliveries: u32) -> ReclaimPlan {
    let mut plan = ReclaimPlan::default();
    for entry in pending.iter().filter(|entry| entry.idle_ms >= lease_ms) {
        let list = if entry.deliveries < max_deliveries {
            &mut plan.claim
        } else {
            &mut plan.dead_letter
        };
        list.push(entry.id.clone());
    }
    plan
}

/// The fields of a version 0 envelope, and the task fields they become.
const V0_FIELDS: [(&str, &str); 4] = [
    ("id", "id"),
    ("src", "input"),
    ("dst", "output"),
    ("created", "created_at"),
];

/// Exercise 4.3: version 1 as it is; version 0 rebuilt into a version 1 task.
pub fn upgrade(envelope: Value) -> Result<Value, String> {
    let Value::Object(fields) = &envelope else {
        return Err(format!("a task envelope is a JSON object, not {envelope}"));
    };
    let Some(version) = fields.get("v") else {
        return Err("the envelope has no version field `v`".to_owned());
    };
    match version.as_u64() {
        Some(1) => Ok(envelope),
        Some(0) => upgrade_v0(fields),
        Some(other) => Err(format!(
            "unknown envelope version {other}; the known versions are 0 and 1"
        )),
        None => Err(format!(
            "the envelope's version `v` is {version}, not a whole number"
        )),
    }
}

/// Builds the version 1 envelope from a version 0 one's fields.
fn upgrade_v0(fields: &Map<String, Value>) -> Result<Value, String> {
    let mut task = Map::new();
    for (old, new) in V0_FIELDS {
        task.insert(new.to_owned(), Value::from(string_field(fields, old)?));
    }
    let filters = string_field(fields, "filters")?
        .split('|')
        .map(stage)
        .collect::<Result<Vec<Value>, String>>()?;
    task.insert("pipeline".to_owned(), json!({ "filters": filters }));
    Ok(json!({ "v": 1, "task": task }))
}

/// A version 0 field that must be a string.
fn string_field<'a>(fields: &'a Map<String, Value>, name: &str) -> Result<&'a str, String> {
    match fields.get(name) {
        Some(Value::String(text)) => Ok(text),
        Some(other) => Err(format!(
            "version 0 field `{name}` must be a string, not {other}"
        )),
        None => Err(format!("the version 0 envelope has no field `{name}`")),
    }
}

/// One stage of the text form, `name:key=value,...`, as `PipelineSpec` writes it in JSON.
fn stage(text: &str) -> Result<Value, String> {
    let (name, params) = match text.split_once(':') {
        Some((name, params)) => (name.trim(), Some(params)),
        None => (text.trim(), None),
    };
    if name.is_empty() {
        return Err(format!(
            "the stage {text:?} has no filter name (two `|` in a row, or one at an end?)"
        ));
    }
    let mut filter = Map::new();
    filter.insert("name".to_owned(), Value::from(name));
    for param in params.into_iter().flat_map(|params| params.split(',')) {
        let param = param.trim();
        let (key, value) = param
            .split_once('=')
            .map(|(key, value)| (key.trim(), value.trim()))
            .filter(|(key, value)| !key.is_empty() && !value.is_empty())
            .ok_or_else(|| format!("{name}: expected key=value, got {param:?}"))?;
        if key == "name" {
            return Err(format!(
                "{name}: a parameter called `name` ({param:?}) would overwrite the filter's name"
            ));
        }
        if filter.insert(key.to_owned(), param_value(value)).is_some() {
            return Err(format!("{name}: parameter {key:?} is given more than once"));
        }
    }
    Ok(Value::Object(filter))
}

/// A number when the text is one, as `PipelineSpec` writes parameters; else a string.
fn param_value(text: &str) -> Value {
    serde_json::from_str::<Number>(text).map_or_else(|_| Value::from(text), Value::Number)
}

/// One entry of the dead-letter stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeadLetter {
    /// The stream id of the task's entry.
    pub entry: String,
    /// Why it was given up on.
    pub reason: String,
    /// When it was dead-lettered, in Unix milliseconds.
    pub at_ms: u64,
}

/// One line of the report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReasonCount {
    /// The reason.
    pub reason: String,
    /// How many dead letters give it.
    pub count: usize,
    /// The earliest `at_ms` among them.
    pub first_ms: u64,
    /// The latest `at_ms` among them.
    pub last_ms: u64,
}

/// Exercise 4.4: group in a map ordered by reason, then a stable sort by count.
pub fn dead_letter_report(letters: &[DeadLetter]) -> Vec<ReasonCount> {
    let mut groups: BTreeMap<&str, ReasonCount> = BTreeMap::new();
    for letter in letters {
        let line = groups
            .entry(letter.reason.as_str())
            .or_insert_with(|| ReasonCount {
                reason: letter.reason.clone(),
                count: 0,
                first_ms: letter.at_ms,
                last_ms: letter.at_ms,
            });
        line.count += 1;
        line.first_ms = line.first_ms.min(letter.at_ms);
        line.last_ms = line.last_ms.max(letter.at_ms);
    }
    let mut report: Vec<ReasonCount> = groups.into_values().collect();
    // Stable: equal counts stay in the map's order, which is by reason.
    report.sort_by_key(|line| Reverse(line.count));
    report
}
