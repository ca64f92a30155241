//! Notices a pipeline whose stages refuse most records (a chart's `y`
//! naming a field the records do not have sends every one to the dead
//! letters): warns once in the log and sets `Shared::refusing` for the
//! dashboard, clears it when records get through again, and warns again
//! if they stop again. Counted per window of records, not per record.

use std::time::{Duration, Instant};

use super::Shared;
use super::counters::Counters;

/// Refused share of a window at which the pipeline counts as refusing.
const REFUSING: f64 = 0.9;
/// Refused share below which it has recovered (between the two, it stays
/// as it was: no flapping around one threshold).
const RECOVERED: f64 = 0.5;
/// A window is judged once it holds this many records...
const WINDOW_RECORDS: u64 = 20;
/// ...or this long has passed with at least `MIN_RECORDS`.
const WINDOW_TIME: Duration = Duration::from_secs(2);
const MIN_RECORDS: u64 = 3;

pub struct RefusalWatch {
    started: Instant,
    consumed: u64,
    refused: u64,
    warned: bool,
}

impl RefusalWatch {
    pub fn new(shared: &Shared) -> Self {
        let (consumed, refused) = counts(shared);
        RefusalWatch { started: Instant::now(), consumed, refused, warned: false }
    }

    /// Looks at the records since the window began; judges it when it is full.
    pub fn check(&mut self, shared: &Shared) {
        let (consumed, refused) = counts(shared);
        let records = consumed.saturating_sub(self.consumed);
        let full = records >= WINDOW_RECORDS || (records >= MIN_RECORDS && self.started.elapsed() >= WINDOW_TIME);
        if !full {
            return;
        }
        // A transform may give the chart more records than it read.
        let refused_n = refused.saturating_sub(self.refused).min(records);
        let share = refused_n as f64 / records as f64;
        if !self.warned && share >= REFUSING {
            self.warned = true;
            let reason = shared.last_refusal.lock().expect("last refusal poisoned").clone().unwrap_or_default();
            let message = format!("{refused_n} of the last {records} records were refused: {reason}");
            tracing::warn!(pipeline = %shared.name, "{message}");
            *shared.refusing.lock().expect("refusing poisoned") = Some(message);
        } else if self.warned && share < RECOVERED {
            self.warned = false;
            tracing::info!(pipeline = %shared.name, "records get through again ({refused_n} of the last {records} refused)");
            *shared.refusing.lock().expect("refusing poisoned") = None;
        }
        *self = RefusalWatch { started: Instant::now(), consumed, refused, warned: self.warned };
    }
}

fn counts(shared: &Shared) -> (u64, u64) {
    (Counters::get(&shared.counters.consumed), Counters::get(&shared.counters.dead_letter))
}
