//! How a task travels through Redis: versioned JSON.
//!
//! A queue outlives the programs around it. Tasks written by last month's submitter are
//! still in the stream when this month's worker starts, so every entry says which version
//! of the encoding it is (`{"v":1,"task":{...}}`), and a worker refuses what it cannot
//! read *with the reason* instead of guessing. A refused entry goes to the dead letters; it
//! never stops the worker. Version 2 added the task's headers; a task without headers is
//! still written as version 1, so an older worker reads every task it could read before.
//! (Tiled jobs need headers: drain them before a fleet runs workers older than that.)

use serde::Serialize;
use serde_json::Value;
use session03_workers::Task;

/// The newest version: a task with headers (version 2 added them). A task without any is
/// still written as version 1, so workers from before headers keep reading it.
pub const VERSION: u64 = 2;

/// The oldest version this code reads.
pub const OLDEST: u64 = 1;

/// Why an entry could not be read as a task.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed task: {0}")]
pub struct Malformed(pub String);

#[derive(Serialize)]
struct Envelope<'a> {
    v: u64,
    task: &'a Task,
}

// ANCHOR: encode
// ANCHOR: encode_fn
/// The task as the JSON that goes into Redis.
pub fn encode(task: &Task) -> String {
    let v = if task.headers.is_empty() {
        OLDEST
    } else {
        VERSION
    };
    serde_json::to_string(&Envelope { v, task })
        .expect("a Task always serializes: its fields are strings, numbers and maps")
}
// ANCHOR_END: encode_fn

/// Reads a task back, saying exactly what is wrong when it cannot: not JSON, no version,
/// a version this worker does not know, or a task that does not fit the current shape
/// (a missing field, an unknown one, a bad blob key).
pub fn decode(text: &str) -> Result<Task, Malformed> {
    let value: Value =
        serde_json::from_str(text).map_err(|error| Malformed(format!("not JSON ({error})")))?;
    let Value::Object(mut envelope) = value else {
        return Err(Malformed("not a JSON object".into()));
    };
    // ANCHOR: version
    let version = match envelope.get("v").map(Value::as_u64) {
        None => return Err(Malformed("no version field `v`".into())),
        Some(None) => return Err(Malformed("the version `v` is not a whole number".into())),
        Some(Some(v @ OLDEST..=VERSION)) => v,
        Some(Some(other)) => {
            return Err(Malformed(format!(
                "unknown version {other}: this worker reads versions {OLDEST} to {VERSION}"
            )));
        }
    };
    // ANCHOR_END: version
    let task = envelope
        .remove("task")
        .ok_or_else(|| Malformed("no `task` field".into()))?;
    let task: Task =
        serde_json::from_value(task).map_err(|error| Malformed(format!("bad task ({error})")))?;
    if version < 2 && !task.headers.is_empty() {
        return Err(Malformed(
            "version 1 has no headers: a task with headers is version 2".into(),
        ));
    }
    Ok(task)
}
// ANCHOR_END: encode
