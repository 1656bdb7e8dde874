//! A task's hash read back as a [`TaskRecord`].

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use session03_workers::{FailureKind, QueueError, TaskError, TaskId, TaskRecord, WorkerId};

use super::reply::time_of;
use crate::encoding;

/// A stored field that cannot be read back: named, never guessed at.
pub(super) fn malformed(id: TaskId, field: &str, value: &str) -> QueueError {
    QueueError::Malformed(format!("task {id}: field `{field}` holds {value:?}"))
}

/// A task record from its hash's fields. A field that is there must read back as what it
/// holds; a state, attempt count or failure kind this version does not know is malformed.
pub(super) fn record_from(
    id: TaskId,
    fields: &BTreeMap<String, String>,
) -> Result<TaskRecord, QueueError> {
    let task = encoding::decode(fields.get("task").map_or("", String::as_str))
        .map_err(|error| QueueError::Malformed(format!("task {id}: {error}")))?;
    let required = |name: &str| {
        fields
            .get(name)
            .ok_or_else(|| QueueError::Malformed(format!("task {id}: no field `{name}`")))
    };
    let parsed = |name: &str, text: &str| -> Result<i64, QueueError> {
        text.parse().map_err(|_| malformed(id, name, text))
    };
    let time = |name: &str| -> Result<Option<DateTime<Utc>>, QueueError> {
        fields
            .get(name)
            .map(|text| time_of(parsed(name, text)?).ok_or_else(|| malformed(id, name, text)))
            .transpose()
    };
    let error = match (fields.get("error_kind"), fields.get("error_message")) {
        (Some(kind), Some(message)) => Some(TaskError {
            kind: match kind.as_str() {
                "job" => FailureKind::Job,
                "worker" => FailureKind::Worker,
                other => return Err(malformed(id, "error_kind", other)),
            },
            message: message.clone(),
        }),
        _ => None,
    };
    let state = required("state")?;
    let attempts = required("attempts")?;
    let enqueued_at = required("enqueued_at")?;
    Ok(TaskRecord {
        task: Arc::new(task),
        state: state.parse().map_err(|_| malformed(id, "state", state))?,
        attempts: attempts
            .parse()
            .map_err(|_| malformed(id, "attempts", attempts))?,
        worker: fields.get("worker").map(WorkerId::named),
        enqueued_at: time_of(parsed("enqueued_at", enqueued_at)?)
            .ok_or_else(|| malformed(id, "enqueued_at", enqueued_at))?,
        started_at: time("started_at")?,
        finished_at: time("finished_at")?,
        duration_seconds: fields
            .get("duration_ms")
            .map(|ms| parsed("duration_ms", ms))
            .transpose()?
            .map(|ms| ms as f64 / 1000.0),
        error,
    })
}
