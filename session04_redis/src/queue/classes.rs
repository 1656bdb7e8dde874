//! Capability classes: a task goes into the stream of its class (the sorted set of its
//! filters), and a worker reads the streams of the classes it can run whole.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use redis::AsyncCommands;
use session03_workers::{Capabilities, QueueError, Task};

use super::{RedisQueue, unavailable};

/// The class of a task with no filter.
const NO_FILTER: &str = "copy";

/// The capability class of a pipeline: its distinct filter names, sorted, joined by `+`.
pub fn class_of(task: &Task) -> String {
    let mut names: Vec<&str> = task.filters().collect();
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        NO_FILTER.to_owned()
    } else {
        names.join("+")
    }
}

/// The filter names of a capability class (none for the class of filterless tasks).
pub fn filters_of_class(class: &str) -> impl Iterator<Item = &str> {
    class
        .split('+')
        .filter(|name| *name != NO_FILTER && !name.is_empty())
}

/// Whether a worker with `capabilities` runs every filter of `class`.
pub(super) fn can_run(capabilities: &Capabilities, class: &str) -> bool {
    filters_of_class(class).all(|name| capabilities.allows(name))
}

impl RedisQueue {
    /// The classes a worker with `capabilities` reads, in this call's turn.
    pub(super) async fn classes_for(
        &self,
        capabilities: &Capabilities,
    ) -> Result<Vec<String>, QueueError> {
        let cached = self
            .local
            .classes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            // An empty list is read again each time: the first task must not wait a sweep.
            .filter(|(read, classes)| {
                !classes.is_empty() && read.elapsed() < self.config.sweep_every
            });
        let all = match cached {
            Some((_, classes)) => classes,
            None => {
                let mut conn = self.conn.clone();
                let mut classes: Vec<String> = conn
                    .zrange(self.keys.classes(), 0, -1)
                    .await
                    .map_err(unavailable)?;
                classes.sort_unstable();
                let classes = Arc::new(classes);
                *self.local.classes.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some((Instant::now(), Arc::clone(&classes)));
                classes
            }
        };
        let mut mine: Vec<String> = all
            .iter()
            .filter(|class| can_run(capabilities, class))
            .cloned()
            .collect();
        if !mine.is_empty() {
            let turn = self.local.turn.fetch_add(1, Ordering::Relaxed) % mine.len();
            mine.rotate_left(turn);
        }
        Ok(mine)
    }

    pub(super) fn forget_classes(&self) {
        *self.local.classes.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use session02_pipelines::PipelineSpec;
    use session03_workers::BlobKey;

    fn task(pipeline: &str) -> Task {
        let key = BlobKey::new("in/x.png").unwrap();
        Task::new(PipelineSpec::parse(pipeline).unwrap(), key.clone(), key)
    }

    #[test]
    fn a_class_is_the_sorted_set_of_filters() {
        assert_eq!(
            class_of(&task("resize:width=8|blur:sigma=2|edges|blur:sigma=1")),
            "blur+edges+resize"
        );
        assert_eq!(class_of(&task("invert")), "invert");
        let empty = Task {
            pipeline: PipelineSpec {
                filters: Vec::new(),
            },
            ..task("invert")
        };
        assert_eq!(class_of(&empty), NO_FILTER);
    }

    #[test]
    fn a_worker_reads_the_classes_it_can_run_whole() {
        let some: Capabilities = "blur,resize".parse().unwrap();
        assert!(can_run(&some, "blur+resize"));
        assert!(can_run(&some, "blur"));
        assert!(!can_run(&some, "blur+edges"));
        assert!(can_run(&some, NO_FILTER));
        assert!(can_run(&Capabilities::All, "sharpen+edges"));
    }
}
