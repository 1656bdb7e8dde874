//! Exercise 4.1's shortcut: each part read with `str::parse::<u64>` alone, which also takes
//! a leading `+` (`"+5"`). Caught by `ex04_1_rejects_what_is_not_an_id`.

use std::fmt;
use std::str::FromStr;

use super::StreamId;

impl StreamId {
    /// The smallest id after this one; `None` after `u64::MAX-u64::MAX`.
    pub fn next(self) -> Option<StreamId> {
        match self.seq.checked_add(1) {
            Some(seq) => Some(Self { ms: self.ms, seq }),
            None => self.ms.checked_add(1).map(|ms| Self { ms, seq: 0 }),
        }
    }
}

impl FromStr for StreamId {
    type Err = String;

    /// `<ms>-<seq>`, or `<ms>` for `seq` 0.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (ms, seq) = text.split_once('-').unwrap_or((text, "0"));
        let number = |digits: &str| {
            digits
                .parse()
                .map_err(|error| format!("{text:?} is not a stream id: {error}"))
        };
        Ok(Self {
            ms: number(ms)?,
            seq: number(seq)?,
        })
    }
}

impl fmt::Display for StreamId {
    /// `<ms>-<seq>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}
