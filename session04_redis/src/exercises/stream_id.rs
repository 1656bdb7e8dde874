//! Exercise 4.1: stream ids. Replace each `todo!` with your code; the type, [`StreamId`], is
//! declared in `mod.rs`.
// The stubs stop at `todo!` without using their arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use std::fmt;
use std::str::FromStr;

use super::StreamId;

// ANCHOR: stream_id
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
