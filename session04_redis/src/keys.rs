//! [`Keys`]: every Redis key of a queue, built in one place.
//!
//! Everything one queue keeps in Redis sits under its namespace (`imgq` by default), so
//! several queues (or courses) share one Redis and a namespace can be purged alone. The
//! Lua library builds the same names from the namespace (see the top of `queue.lua`); code
//! in Rust, this session's or a later one's, asks [`Keys`] and never spells a key out.
//!
//! | key | holds |
//! |---|---|
//! | `NS:stream:CLASS` | a stream per capability class, read by the consumer group `workers` |
//! | `NS:class-use` | the classes that have a stream, scored by when a task last went in |
//! | `NS:task:ID` | a hash per task: the task, its state, attempts, times, error, history |
//! | `NS:cursor:CLASS` | where the last sweep of the class's pending entries stopped (Lua only) |
//! | `NS:state:STATE` | a sorted set of task ids per state, scored by when they entered it |
//! | `NS:delayed` | tasks waiting out a retry backoff, scored by when they may run again |
//! | `NS:dead` | the dead-letter stream |
//! | `NS:stats` | the queue's counters |
//! | `NS:blob:KEY` | one blob of the [`RedisBlobStore`](crate::RedisBlobStore) |
//! | `NS:KIND:ID...` | what a later session keeps per thing ([`Keys::of`]): workers, jobs |

use std::fmt::Display;

use session03_workers::{BlobKey, TaskId, TaskState};

/// The keys of the queue in one namespace.
// ANCHOR: keys
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    namespace: String,
}

impl Keys {
    /// The keys under `namespace`, a non-empty word (checked by the queue).
    pub fn new(namespace: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
        }
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// `NS:part:part...`: a key of this namespace. The queue's own keys have methods of
    /// their own; a later session names what it keeps (`of(&["job", &id])`) with this.
    pub fn of(&self, parts: &[&dyn Display]) -> String {
        let mut key = self.namespace.clone();
        for part in parts {
            key.push(':');
            key.push_str(&part.to_string());
        }
        key
    }

    /// The stream of capability class `class`.
    pub fn stream(&self, class: &str) -> String {
        self.of(&[&"stream", &class])
    }

    /// The class a stream key belongs to, if it is one of this namespace's streams.
    pub fn class_of_stream<'a>(&self, stream: &'a str) -> Option<&'a str> {
        stream
            .strip_prefix(self.namespace.as_str())?
            .strip_prefix(":stream:")
    }

    /// The classes that have a stream, scored by when a task last went in.
    pub fn classes(&self) -> String {
        self.of(&[&"class-use"])
    }

    /// Task `id`'s hash.
    pub fn task(&self, id: TaskId) -> String {
        self.of(&[&"task", &id])
    }

    /// The index of the tasks in `state`.
    pub fn state(&self, state: TaskState) -> String {
        self.of(&[&"state", &state.name()])
    }

    /// The dead-letter stream.
    pub fn dead(&self) -> String {
        self.of(&[&"dead"])
    }

    /// The queue's counters.
    pub fn stats(&self) -> String {
        self.of(&[&"stats"])
    }

    /// Where blob `key` is kept.
    pub fn blob(&self, key: &BlobKey) -> String {
        self.of(&[&"blob", key])
    }

    /// A pattern that matches every key of the namespace, and no other, for `SCAN`: glob
    /// characters in the namespace (`*`, `?`, `[`, `]`, `\`) are escaped.
    pub fn everything(&self) -> String {
        let mut pattern = String::with_capacity(self.namespace.len() + 2);
        for c in self.namespace.chars() {
            if "*?[]\\".contains(c) {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push_str(":*");
        pattern
    }
}
// ANCHOR_END: keys

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sit_under_the_namespace() {
        let keys = Keys::new("imgq");
        let id: TaskId = "0190a3b4-7c2d-7e8f-9a0b-1c2d3e4f5a6b".parse().unwrap();
        assert_eq!(keys.stream("blur+resize"), "imgq:stream:blur+resize");
        assert_eq!(keys.class_of_stream("imgq:stream:blur"), Some("blur"));
        assert_eq!(keys.class_of_stream("other:stream:blur"), None);
        assert_eq!(keys.task(id), format!("imgq:task:{id}"));
        assert_eq!(keys.state(TaskState::Dead), "imgq:state:dead");
        let blob = BlobKey::new("in/a.png").unwrap();
        assert_eq!(keys.blob(&blob), "imgq:blob:in/a.png");
        assert_eq!(
            keys.of(&[&"job", &id, &"events"]),
            format!("imgq:job:{id}:events")
        );
        assert_eq!(keys.everything(), "imgq:*");
        assert_eq!(Keys::new(r"a*b[1]?\").everything(), r"a\*b\[1\]\?\\:*");
    }
}
