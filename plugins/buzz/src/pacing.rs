//! Shared by the generators: how many messages to make per poll, when to
//! stop, and the word lists' validation.

use std::time::Duration;

use buzz_sdk::{Poll, StageError};

/// Interval and count limits of a generator.
pub struct Pacing {
    pub interval_ms: u64,
    /// Messages to make in all; None for ever.
    pub count: Option<u64>,
    /// Messages made so far.
    pub made: u64,
}

impl Pacing {
    /// How many messages the next poll may make.
    pub fn budget(&self, max: usize) -> usize {
        let per_poll = if self.interval_ms > 0 { 1 } else { max.max(1) as u64 };
        let left = self.count.map_or(u64::MAX, |c| c.saturating_sub(self.made));
        per_poll.min(left) as usize
    }

    /// What to tell the runner after a poll.
    pub fn after_poll(&self) -> Poll {
        if self.count.is_some_and(|c| self.made >= c) {
            Poll::Done
        } else if self.interval_ms > 0 {
            Poll::Wait(Duration::from_millis(self.interval_ms))
        } else {
            Poll::Ready
        }
    }
}

/// Refuses an empty word list, naming the setting.
pub fn non_empty(name: &str, list: &[String]) -> Result<(), StageError> {
    if list.is_empty() {
        return Err(StageError::setting(name, "must list at least one word"));
    }
    Ok(())
}

pub fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}
