//! Exercise 4.1: stream ids, the reference solution.

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

    /// `<ms>-<seq>`, or `<ms>` for `seq` 0; digits only.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (ms, seq) = text.split_once('-').unwrap_or((text, "0"));
        // `u64::from_str` alone would accept a `+`: check for digits first.
        let number = |digits: &str, part: &str| -> Result<u64, String> {
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "{text:?} is not a stream id: its {part} {digits:?} is not a number"
                ));
            }
            digits.parse().map_err(|_| {
                format!(
                    "{text:?} is not a stream id: its {part} {digits} is above {}",
                    u64::MAX
                )
            })
        };
        Ok(Self {
            ms: number(ms, "milliseconds")?,
            seq: number(seq, "sequence number")?,
        })
    }
}

impl fmt::Display for StreamId {
    /// `<ms>-<seq>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}
