//! A line longer than `max_record_bytes` in a file transport: skipped to
//! its end rather than buffered (a 300 MB line with no newline would
//! otherwise take 300 MB), with only its first bytes kept for the dead
//! letter that says how long it was.

use super::{Position, RecordBatch};

/// Bytes of a skipped line kept for its dead letter.
pub const KEPT: usize = 1024;

pub struct LongLine {
    /// File offset of the line's first byte.
    start: u64,
    prefix: Vec<u8>,
    /// Bytes of the line seen so far (its length once its end is found).
    len: u64,
}

impl LongLine {
    pub fn new(start: u64, first: &[u8]) -> Self {
        LongLine { start, prefix: first[..first.len().min(KEPT)].to_vec(), len: first.len() as u64 }
    }

    /// More of the line went by.
    pub fn skipped(&mut self, bytes: usize) {
        self.len += bytes as u64;
    }

    /// Hands the line to the dead letters: its first bytes and the reason.
    pub fn refuse_into(self, batch: &mut RecordBatch, max: u64) {
        let reason = format!(
            "line is {} bytes, more than max_record_bytes ({max}); skipped (its first {} bytes are kept here)",
            self.len,
            self.prefix.len()
        );
        batch.push_refused(&self.prefix, Position::File { offset: self.start }, reason);
    }
}
