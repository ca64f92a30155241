//! Notices a pipeline whose stages refuse most records (a chart's `y`
//! naming a field the records do not have sends every one to the dead
//! letters): warns once in the log and sets the pipeline's `refusing` for
//! the dashboard, clears it when records get through again, and warns again
//! if they stop again. Each branch is watched the same way by its own dead
//! letters, for its own figures; only the pipeline's watch logs, and its
//! reason names the branch. Counted per window of records, not per record.

use std::collections::BTreeMap;
use std::sync::Mutex;
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

/// Why records are refused, of a pipeline or of one branch.
#[derive(Default)]
pub struct Refusals {
    /// Why most records are refused, while they are.
    refusing: Mutex<Option<String>>,
    /// The stage and reason of the latest dead letter.
    last: Mutex<Option<String>>,
}

impl Refusals {
    pub fn refusing(&self) -> Option<String> {
        self.refusing.lock().expect("refusing poisoned").clone()
    }

    pub(super) fn note(&self, reason: String) {
        *self.last.lock().expect("last refusal poisoned") = Some(reason);
    }

    fn last(&self) -> String {
        self.last.lock().expect("last refusal poisoned").clone().unwrap_or_default()
    }

    fn set_refusing(&self, refusing: Option<String>) {
        *self.refusing.lock().expect("refusing poisoned") = refusing;
    }
}

/// The pipeline's watch and each running branch's (by its id: a branch a
/// reload adds gets one, a removed one's goes).
pub struct RefusalWatches {
    pipeline: RefusalWatch,
    branches: BTreeMap<u64, RefusalWatch>,
}

impl RefusalWatches {
    pub fn new(shared: &Shared) -> Self {
        let consumed = Counters::get(&shared.counters.consumed);
        let watch = |refused| RefusalWatch::new(consumed, refused);
        let branches =
            shared.charts.list().iter().map(|b| (b.id, watch(Counters::get(&b.figures.dead_letter)))).collect();
        RefusalWatches { pipeline: watch(Counters::get(&shared.counters.dead_letter)), branches }
    }

    /// Looks at the records read since each window began.
    pub fn check(&mut self, shared: &Shared) {
        let consumed = Counters::get(&shared.counters.consumed);
        let refused = Counters::get(&shared.counters.dead_letter);
        match self.pipeline.check(consumed, refused, &shared.status.refusals) {
            Some(Turn::Refusing(message)) => tracing::warn!(pipeline = %shared.name, "{message}"),
            Some(Turn::Recovered(message)) => tracing::info!(pipeline = %shared.name, "{message}"),
            None => {}
        }
        let branches = shared.charts.list();
        self.branches.retain(|id, _| branches.iter().any(|b| b.id == *id));
        for branch in &branches {
            let (figures, refused) = (&branch.figures, Counters::get(&branch.figures.dead_letter));
            let watch = self.branches.entry(branch.id).or_insert_with(|| RefusalWatch::new(consumed, refused));
            watch.check(consumed, refused, &figures.refusals);
        }
    }
}

/// A change of a watch's verdict, with what to log.
enum Turn {
    Refusing(String),
    Recovered(String),
}

struct RefusalWatch {
    started: Instant,
    consumed: u64,
    refused: u64,
    warned: bool,
}

impl RefusalWatch {
    fn new(consumed: u64, refused: u64) -> Self {
        RefusalWatch { started: Instant::now(), consumed, refused, warned: false }
    }

    /// Judges the window once it is full, setting `refusals`' warning.
    fn check(&mut self, consumed: u64, refused: u64, refusals: &Refusals) -> Option<Turn> {
        let records = consumed.saturating_sub(self.consumed);
        let full = records >= WINDOW_RECORDS || (records >= MIN_RECORDS && self.started.elapsed() >= WINDOW_TIME);
        if !full {
            return None;
        }
        // A transform may give the chart more records than it read.
        let refused_n = refused.saturating_sub(self.refused).min(records);
        let share = refused_n as f64 / records as f64;
        let mut turn = None;
        if !self.warned && share >= REFUSING {
            self.warned = true;
            let message = format!("{refused_n} of the last {records} records were refused: {}", refusals.last());
            refusals.set_refusing(Some(message.clone()));
            turn = Some(Turn::Refusing(message));
        } else if self.warned && share < RECOVERED {
            self.warned = false;
            refusals.set_refusing(None);
            turn =
                Some(Turn::Recovered(format!("records get through again ({refused_n} of the last {records} refused)")));
        }
        *self = RefusalWatch { started: Instant::now(), consumed, refused, warned: self.warned };
        turn
    }
}
