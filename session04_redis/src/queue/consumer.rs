//! Who a worker process is in the consumer group: its consumer name.
//!
//! The queue records which consumer holds each pending entry, so a consumer name must never
//! be used by two processes at once, nor by a process and its restart (the new process would
//! inherit the dead one's leases as if they were its own). Every name therefore ends with
//! random digits drawn at start. What comes before them is for people: the host and the
//! process id by default, or a name given with `--worker-id` (`WORKER_ID`), such as
//! `resizer-1`, which is what logs, `status` and the registry then show.

use std::fmt;
use std::str::FromStr;

/// The longest [`WorkerName`], in characters.
pub const MAX_WORKER_NAME: usize = 64;

/// A readable name for a worker process, the start of its consumer name: 1 to
/// [`MAX_WORKER_NAME`] letters, digits, `-`, `_` or `.`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WorkerName(String);

/// Why a text is not a [`WorkerName`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a worker name must be 1 to {MAX_WORKER_NAME} letters, digits, `-`, `_` or `.`; {0:?} {1}")]
pub struct InvalidWorkerName(String, &'static str);

impl WorkerName {
    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for WorkerName {
    type Err = InvalidWorkerName;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let problem = if name.is_empty() {
            Some("is empty")
        } else if name.chars().count() > MAX_WORKER_NAME {
            Some("is too long")
        } else if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            Some("holds other characters")
        } else {
            None
        };
        match problem {
            Some(problem) => Err(InvalidWorkerName(name.to_owned(), problem)),
            None => Ok(Self(name.to_owned())),
        }
    }
}

impl fmt::Display for WorkerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// This machine's name (in a container, the container's), for ids people can trace.
pub fn host_name() -> String {
    gethostname::gethostname()
        .into_string()
        .ok()
        .map(|host| host.trim().to_owned())
        .filter(|host| !host.is_empty())
        .unwrap_or_else(|| "host".to_owned())
}

/// A consumer name for this process, unique per start: `NAME-random` when given a name,
/// `host-pid-random` otherwise (8 random hex digits).
// ANCHOR: consumer_name
pub fn consumer_name(name: Option<&WorkerName>) -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    match name {
        Some(name) => format!("{name}-{}", &random[..8]),
        None => format!("{}-{}-{}", host_name(), std::process::id(), &random[..8]),
    }
}
// ANCHOR_END: consumer_name

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumer_names_are_unique_per_start() {
        let (a, b) = (consumer_name(None), consumer_name(None));
        assert_ne!(a, b);
        assert!(a.contains(&std::process::id().to_string()));
        let name: WorkerName = "resizer-1".parse().unwrap();
        let (a, b) = (consumer_name(Some(&name)), consumer_name(Some(&name)));
        assert_ne!(a, b);
        let suffix = a.strip_prefix("resizer-1-").unwrap();
        assert_eq!(suffix.len(), 8);
        assert!(suffix.chars().all(|c| c.is_ascii_hexdigit()), "{a}");
    }

    #[test]
    fn worker_names_are_checked() {
        for good in ["a", "resizer-1", "w_2.eu", &"x".repeat(MAX_WORKER_NAME)] {
            assert_eq!(good.parse::<WorkerName>().unwrap().as_str(), good);
        }
        for (bad, problem) in [
            ("", "is empty"),
            (&"x".repeat(MAX_WORKER_NAME + 1), "is too long"),
            ("two words", "other characters"),
            ("a/b", "other characters"),
            ("é", "other characters"),
        ] {
            let error = bad.parse::<WorkerName>().unwrap_err().to_string();
            assert!(error.contains(problem), "{bad:?}: {error}");
        }
    }
}
