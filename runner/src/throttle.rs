//! Say what is wrong every few seconds, not on every retry, and back off.

use std::time::{Duration, Instant};

pub struct Throttle {
    every: Duration,
    last: Option<Instant>,
    failures: u32,
}

impl Throttle {
    pub fn new(every: Duration) -> Self {
        Throttle { every, last: None, failures: 0 }
    }

    /// Records a failure; true if it should be reported now.
    pub fn ready(&mut self) -> bool {
        self.failures += 1;
        if self.last.is_none_or(|t| t.elapsed() >= self.every) {
            self.last = Some(Instant::now());
            return true;
        }
        false
    }

    /// How long to wait before the next retry: 100 ms doubling to 5 s.
    pub fn backoff(&self) -> Duration {
        Duration::from_millis(100u64 << self.failures.min(6)).min(Duration::from_secs(5))
    }

    /// Failures since the last reset.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    pub fn reset(&mut self) {
        self.failures = 0;
        self.last = None;
    }
}
