//! The replies of the queue's Lua functions, decoded into typed values.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use redis::Value;
use session03_workers::{Lease, QueueError, WorkerId};
use tracing::warn;

use super::RedisQueue;
use crate::encoding;
use crate::functions::QUEUE;

/// The non-empty lines of `text`.
pub(super) fn lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A time in milliseconds since the epoch, as Redis's `TIME` gives it.
pub(super) fn time_of(ms: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms).single()
}

/// A reply that is a number, or `None` for a word such as `lost`.
pub(super) fn int(value: &Value) -> Option<i64> {
    redis::from_redis_value_ref(value).ok()
}

/// An attempt started by `imgq_reserve_many` or `imgq_start`: how it came (`claimed` after an
/// expired lease, or `read`), class, entry, task id, attempt, receipt, expiry, payload.
type Started = (String, String, String, String, u32, String, i64, String);

impl RedisQueue {
    /// Turns the reply of `imgq_reserve_many` or `imgq_start` into a lease. A payload this
    /// worker cannot read is buried in the dead letters with the reason, and gives `None`.
    pub(super) async fn lease_from(
        &self,
        reply: Vec<Value>,
        worker: &WorkerId,
    ) -> Result<Option<Lease>, QueueError> {
        if reply.is_empty() {
            return Ok(None);
        }
        let (how, class, entry, id, attempt, receipt, _expires, payload): Started =
            redis::from_redis_value(Value::Array(reply)).map_err(|error| {
                QueueError::Malformed(format!("a started attempt's reply: {error}"))
            })?;
        if how == "claimed" {
            self.sweep_soon(); // there may be more
        }
        let task = encoding::decode(&payload).and_then(|task| {
            if task.id.to_string() == id {
                Ok(task)
            } else {
                Err(encoding::Malformed(format!(
                    "the entry names task {id} but carries task {}",
                    task.id
                )))
            }
        });
        let task = match task {
            Ok(task) => task,
            Err(malformed) => {
                warn!(%id, %entry, reason = %malformed, "dead-lettering an entry no worker can read");
                self.run::<String>(
                    QUEUE
                        .call("imgq_bury", &[])
                        .arg(&self.config.namespace)
                        .arg(&class)
                        .arg(&entry)
                        .arg(&id)
                        .arg(&malformed.0)
                        .arg(self.retention_ms()),
                )
                .await?;
                return Ok(None);
            }
        };
        Ok(Some(Lease {
            task: Arc::new(task),
            attempt,
            worker: worker.clone(),
            receipt,
            expires_at: self.expiry(),
        }))
    }
}
