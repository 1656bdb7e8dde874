//! Waiting for a task: `XREADGROUP ... BLOCK` on connections of its own, since a blocked
//! connection answers nothing else until the block ends.

use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::streams::{StreamReadOptions, StreamReadReply};
use redis::{AsyncCommands, Value};
use session03_workers::{Lease, QueueError, WorkerId};
use tracing::warn;

use super::{GROUP, RedisQueue, unavailable};
use crate::connect;
use crate::functions::{self, QUEUE};

impl RedisQueue {
    /// Waits up to `block` for a new entry in `classes`, with `XREADGROUP ... BLOCK`, and
    /// starts an attempt on it.
    pub(super) async fn read_blocking(
        &self,
        worker: &WorkerId,
        classes: &[String],
        block: Duration,
    ) -> Result<Option<Lease>, QueueError> {
        let keys: Vec<String> = classes.iter().map(|c| self.keys.stream(c)).collect();
        let ids = vec![">"; keys.len()];
        let options = StreamReadOptions::default()
            .group(GROUP, &*self.consumer)
            .count(1)
            .block(
                usize::try_from(block.as_millis())
                    .unwrap_or(usize::MAX)
                    .max(1),
            );
        // A blocked connection answers nothing else until the block ends, so blocking reads
        // never use the shared connection: each takes one of its own, kept for reuse.
        let idle = self
            .local
            .idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop();
        let mut conn = match idle {
            Some(conn) => conn,
            None => ConnectionManager::new_with_config(
                self.client.clone(),
                connect::manager_config(&self.options),
            )
            .await
            .map_err(unavailable)?,
        };
        let read = conn.xread_options(&keys, &ids, &options).await;
        if read.is_ok() {
            self.local
                .idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(conn);
        }
        let reply: Option<StreamReadReply> = match read {
            Ok(reply) => reply,
            Err(error) if functions::is_stream_gone(&error) => {
                // The stream is gone (Redis restarted empty, or the class emptied): read
                // the classes again.
                self.forget_classes();
                return Ok(None);
            }
            Err(error) => return Err(unavailable(error)),
        };
        let mut lease = None;
        for stream in reply.into_iter().flat_map(|r| r.keys) {
            let Some(class) = self.keys.class_of_stream(&stream.key) else {
                continue;
            };
            for entry in stream.ids {
                if lease.is_some() {
                    // One per call: make the extra one the next sweep's first. Should that
                    // fail, the entry still comes back when its lease runs out.
                    if let Err(error) = self.give_back(class, &entry.id).await {
                        warn!(%error, entry = %entry.id, "could not give back an extra entry");
                    }
                    continue;
                }
                let id: String = entry.get("id").unwrap_or_default();
                let reply: Vec<Value> = self
                    .run(
                        QUEUE
                            .call("imgq_start", &[])
                            .arg(&self.config.namespace)
                            .arg(worker.as_str())
                            .arg(self.lease_ms())
                            .arg(self.config.queue.max_attempts)
                            .arg(self.retention_ms())
                            .arg(class)
                            .arg(&entry.id)
                            .arg(id)
                            .arg(&*self.consumer),
                    )
                    .await?;
                lease = self.lease_from(reply, worker).await?;
            }
        }
        Ok(lease)
    }

    /// Makes a delivered entry look long idle, so the next sweep hands it out.
    async fn give_back(&self, class: &str, entry: &str) -> Result<(), QueueError> {
        let mut conn = self.conn.clone();
        redis::cmd("XCLAIM")
            .arg(self.keys.stream(class))
            .arg(GROUP)
            .arg(&*self.consumer)
            .arg(0)
            .arg(entry)
            .arg("IDLE")
            .arg(self.lease_ms() + 1000)
            .arg("JUSTID")
            .query_async::<Value>(&mut conn)
            .await
            .map_err(unavailable)?;
        self.sweep_soon();
        Ok(())
    }
}
