//! Live counts of a running pipeline (read through its `Stats` snapshot).

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Counters {
    /// Records the source made and the transport accepted.
    pub produced: AtomicU64,
    /// Records the consumer read from the transport.
    pub consumed: AtomicU64,
    /// Payload bytes of `produced` and `consumed` (for the lag limit).
    pub produced_bytes: AtomicU64,
    pub consumed_bytes: AtomicU64,
    /// Consumed records the transform took without error (they reached the chart).
    pub records_out: AtomicU64,
    /// Entries written to the dead-letter output.
    pub dead_letter: AtomicU64,
    pub reloads_applied: AtomicU64,
    pub reloads_refused: AtomicU64,
    pub checkpoints: AtomicU64,
}

impl Counters {
    pub fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn sub(counter: &AtomicU64, n: usize) {
        counter.fetch_sub(n as u64, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
