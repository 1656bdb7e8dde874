//! Your answers to the session's exercises: replace each `todo!` with your code.
//!
//! Grade with `cargo xtask grade 4`, or one exercise with `--exercise ex04_2`.
// The stubs stop at `todo!` without using their arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables, dead_code)]

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

// ANCHOR: stream_id
/// Exercise 4.1: a stream entry's id, as Redis writes it: `<ms>-<seq>`.
///
/// `ms` is the Unix time in milliseconds when the entry was added, and `seq` tells apart
/// entries added in the same millisecond. Ids are ordered by `ms`, then by `seq` (the
/// derived order does this, because the fields are declared in that order); note that this
/// is not the order of the text: `"9-0"` comes before `"10-0"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId {
    /// Milliseconds since the Unix epoch.
    pub ms: u64,
    /// The sequence number within that millisecond.
    pub seq: u64,
}

impl StreamId {
    /// The smallest id after this one: the same `ms` with `seq + 1`, or, when `seq` is
    /// `u64::MAX`, the next millisecond with `seq` 0. `None` after the largest id,
    /// `u64::MAX-u64::MAX`.
    ///
    /// `XRANGE` includes both ends of its range; to read what comes after an entry
    /// already seen, start from the entry's `next()`.
    pub fn next(self) -> Option<StreamId> {
        todo!("exercise 4.1: StreamId::next")
    }

    /// How old the entry is at `now_ms` (Unix milliseconds): `now_ms - ms`, or 0 when the
    /// entry's time is after `now_ms` (another machine's clock may be ahead). Never
    /// overflows.
    pub fn age_ms(self, now_ms: u64) -> u64 {
        todo!("exercise 4.1: StreamId::age_ms")
    }
}

impl FromStr for StreamId {
    type Err = String;

    /// Parses `"<ms>-<seq>"`, or a bare `"<ms>"`, which means `seq` 0 (Redis accepts both).
    ///
    /// Each part is one or more ASCII digits and fits in a `u64`: no sign, no spaces, no
    /// other characters. Anything else is an error: an empty text, an empty part (`"5-"`,
    /// `"-5"`), a character that is not a digit (`"+5"`, `"5-a"`, `" 5"`), more than one
    /// `-` (`"1-2-3"`), or a number above `u64::MAX`. The error message contains the text
    /// and says what is wrong with it.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        todo!("exercise 4.1: StreamId::from_str")
    }
}

impl fmt::Display for StreamId {
    /// `<ms>-<seq>`, in decimal, which parses back into the same id: `1700000000000-5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        todo!("exercise 4.1: StreamId's Display")
    }
}
// ANCHOR_END: stream_id

// ANCHOR: plan_reclaim
/// One entry of a consumer group's pending list: delivered to a consumer and not yet
/// acknowledged. One row of what `XPENDING <stream> <group> - + <count>` returns.
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
    /// The ids to claim (`XCLAIM`) and run again.
    pub claim: Vec<String>,
    /// The ids to give up on: move to the dead-letter stream and acknowledge.
    pub dead_letter: Vec<String>,
}

/// Exercise 4.2: which leases to reclaim.
///
/// A worker holds a task for `lease_ms` milliseconds. An entry idle for at least `lease_ms`
/// (`idle_ms >= lease_ms`, the rule of `XAUTOCLAIM`'s min-idle-time) has an expired lease:
///
/// - when it has been delivered fewer than `max_deliveries` times, its id goes to `claim`;
/// - otherwise (`deliveries >= max_deliveries`) it has had all its chances, and its id goes
///   to `dead_letter`.
///
/// An entry idle for less than `lease_ms` is still leased and appears in neither list. Both
/// lists keep the order of `pending`.
pub fn plan_reclaim(pending: &[PendingEntry], lease_ms: u64, max_deliveries: u32) -> ReclaimPlan {
    todo!("exercise 4.2: plan_reclaim")
}
// ANCHOR_END: plan_reclaim

// ANCHOR: upgrade
/// Exercise 4.3: migrating an old task encoding.
///
/// Brings a task envelope read from the stream up to version 1, the current one:
///
/// ```text
/// {"v":1,"task":{"id":"…","pipeline":{"filters":[…]},"input":"…","output":"…","created_at":"…"}}
/// ```
///
/// - **Version 1** envelopes are returned unchanged.
/// - **Version 0** envelopes, written by an older submitter, are flat:
///   `{"v":0,"id":"…","filters":"blur:sigma=2|edges","src":"…","dst":"…","created":"…"}`.
///   They become version 1 with the task's `id` from `id`, `input` from `src`, `output`
///   from `dst` and `created_at` from `created`, each string copied as it is (other fields
///   are ignored), and a `pipeline` in session 02's JSON form, `{"filters":[…]}`.
///
/// `filters` is in session 02's text form: stages separated by `|`, each a filter name,
/// then optionally `:` and `key=value` parameters separated by `,`. Each stage becomes one
/// object holding its `name` and, beside it, one field per parameter (this is how
/// `PipelineSpec` writes JSON): `blur:sigma=2` becomes `{"name":"blur","sigma":2}` and
/// `edges` becomes `{"name":"edges"}`. Names, keys and values are trimmed of surrounding
/// whitespace. A value that `serde_json` reads as a number (`2`, `1.5`, `-3`) becomes a
/// JSON number, any other value (`nearest`) a JSON string.
///
/// The error message says what is wrong, quoting the offending field or token, when:
///
/// - the envelope is not a JSON object;
/// - `v` is missing or is not a whole number (an integer from 0 up: `-1`, `1.0` and `"1"`
///   are not);
/// - `v` is a whole number other than 0 and 1 (the message gives `v` and the known
///   versions);
/// - in version 0, one of `id`, `filters`, `src`, `dst` and `created` is missing or is not
///   a string (the message names the field);
/// - a stage's filter name is empty (`"blur||edges"`, `""`);
/// - a parameter is not `key=value` with a non-empty key and value (`"sigma"`, `"=2"`,
///   and the empty parameter of `"blur:"`), is called `name` (it would overwrite the
///   filter's name), or is given twice in one stage.
pub fn upgrade(envelope: Value) -> Result<Value, String> {
    todo!("exercise 4.3: upgrade")
}
// ANCHOR_END: upgrade

// ANCHOR: dead_letter_report
/// One entry of the dead-letter stream: a task given up on, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeadLetter {
    /// The stream id of the task's entry.
    pub entry: String,
    /// Why it was given up on, such as `"lease expired 5 times"`.
    pub reason: String,
    /// When it was dead-lettered, in Unix milliseconds.
    pub at_ms: u64,
}

/// One line of the report: how many tasks died for one reason, and when.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReasonCount {
    /// The reason, exactly as the dead letters give it.
    pub reason: String,
    /// How many dead letters give it.
    pub count: usize,
    /// The earliest `at_ms` among them.
    pub first_ms: u64,
    /// The latest `at_ms` among them.
    pub last_ms: u64,
}

/// Exercise 4.4: a dead-letter report.
///
/// Groups `letters` by `reason` (reasons are the same when their strings are equal: case
/// and spaces matter), one [`ReasonCount`] per distinct reason. The report is sorted by
/// `count`, largest first, and reasons with the same count by `reason` in ascending
/// (`str`) order, so it comes out the same every time. `letters` may be in any order. No
/// letters, no lines: an empty report.
pub fn dead_letter_report(letters: &[DeadLetter]) -> Vec<ReasonCount> {
    todo!("exercise 4.4: dead_letter_report")
}
// ANCHOR_END: dead_letter_report
