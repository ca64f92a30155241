//! What a hot reload hands to a running pipeline's threads, and how they
//! report back.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use super::charts::BranchFrames;
use super::record_gate::RecordGate;
use crate::chart_output::ChartWriter;
use crate::config::{BranchSpec, StageSpec};
use crate::plugin_host::StageInstance;
use crate::transport::{EndMark, TransportReader, TransportWriter};

/// One branch as a reload leaves it: a running branch with new parts
/// (`None` keeps the running one), or a branch the edit adds.
pub struct BranchSwap {
    /// The branch as the edited file has it.
    pub spec: BranchSpec,
    /// The running branch it carries on (its index), `None` for a new one.
    pub was: Option<usize>,
    /// One per transform of the new chain: `Some` is built once per
    /// partition task (the reload built one to check it), `None` keeps the
    /// running transform at that place.
    pub transforms: Vec<Option<StageSpec>>,
    pub chart: Option<StageSpec>,
    /// Per transform, then for the chart: the new stage starts empty, its
    /// state meant something else.
    pub reset_transforms: Vec<bool>,
    pub reset_chart: bool,
    pub writer: Option<ChartWriter>,
    /// Its entry in the list of branches (a running branch's own, or a new
    /// one), whose figures the consumer counts.
    pub entry: BranchFrames,
}

impl BranchSwap {
    /// Some stage of the branch starts afresh, or the branch is new.
    pub fn resets(&self) -> bool {
        self.was.is_none() || self.reset_chart || self.reset_transforms.iter().any(|r| *r)
    }
}

/// New parts for the consumer half; `None` keeps the running one.
pub struct ConsumerSwap {
    /// Every branch of the edited file, in its order, when any branch
    /// changed or was added or removed (a running branch not listed is
    /// removed); else empty.
    pub branches: Vec<BranchSwap>,
    pub reader: Option<Box<dyn TransportReader>>,
    pub frame_interval: Option<Duration>,
    pub gate: Option<RecordGate>,
    /// The consumer holds the parts until told to apply them, with where
    /// the old transport ended (when the producer replaced it); a reload
    /// that the producer could not take drops the sender: nothing applied.
    pub go: Receiver<Option<EndMark>>,
    pub done: Sender<Result<(), String>>,
}

/// New parts for the producer half; `None` keeps the running one.
pub struct ProducerSwap {
    /// With its state-defining settings (see `StageSpec::meaning`).
    pub source: Option<(StageInstance, Option<serde_json::Value>)>,
    /// The new source starts afresh: its position meant something else.
    pub reset_source: bool,
    pub writer: Option<Box<dyn TransportWriter>>,
    /// Answers with where the old transport ended, when it was replaced.
    pub done: Sender<Result<Option<EndMark>, String>>,
}

const OFFERED: u8 = 0;
const TAKEN: u8 = 1;
const WITHDRAWN: u8 = 2;

/// A reload's parts offered to one half, which takes them between
/// batches. A reload that gives up waiting withdraws them, so parts a half
/// did not take in time are never applied later behind its back.
pub struct Offer<P> {
    parts: P,
    claim: Arc<AtomicU8>,
    taken: Sender<()>,
}

/// The reload's side of an [`Offer`].
pub struct Offered {
    claim: Arc<AtomicU8>,
    taken: Receiver<()>,
}

pub fn offer<P>(parts: P) -> (Offer<P>, Offered) {
    let claim = Arc::new(AtomicU8::new(OFFERED));
    let (taken, taken_rx) = mpsc::channel();
    (Offer { parts, claim: claim.clone(), taken }, Offered { claim, taken: taken_rx })
}

impl<P> Offer<P> {
    /// The parts, unless the reload withdrew them.
    pub fn take(self) -> Option<P> {
        self.claim.compare_exchange(OFFERED, TAKEN, Ordering::AcqRel, Ordering::Acquire).ok()?;
        let _ = self.taken.send(());
        Some(self.parts)
    }
}

impl Offered {
    /// True once the half took the parts; false (and withdrawn for good) if
    /// it did not within `limit`.
    pub fn taken_within(&self, limit: Duration) -> bool {
        match self.taken.recv_timeout(limit) {
            Ok(()) => true,
            // Taken at the last moment (or the half is gone, which the
            // answer will say): the withdrawal fails.
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => self
                .claim
                .compare_exchange(OFFERED, WITHDRAWN, Ordering::AcqRel, Ordering::Acquire)
                .is_err_and(|now| now == TAKEN),
        }
    }
}

/// Moves `old`'s state into `new` when both are the same type of stage (a
/// restyled chart keeps its data; a retuned transform keeps its counts).
/// A different type of stage, or a `reset` one, starts afresh.
pub fn carry_state(old: &mut StageInstance, new: &mut StageInstance, reset: bool) -> Result<(), String> {
    if reset || old.type_name() != new.type_name() {
        return Ok(());
    }
    if let Some(state) = old.save_state().map_err(|e| e.to_string())? {
        new.restore_state(&state).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The outcome of the latest reload, for logs, the summary and the dashboard.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReloadReport {
    pub applied: bool,
    /// What changed, or why it was refused.
    pub message: String,
    pub elapsed_ms: f64,
    #[serde(with = "unix_seconds")]
    pub at: SystemTime,
}

mod unix_seconds {
    use std::time::SystemTime;

    pub fn serialize<S: serde::Serializer>(at: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(at.duration_since(SystemTime::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64()))
    }
}

/// Reload timing shared by the reloader and the consumer: when the change
/// was noticed, and when the first record went through the new settings.
#[derive(Default)]
pub struct ReloadStatus {
    inner: Mutex<ReloadTimes>,
}

#[derive(Default, Clone, Copy, Debug)]
pub struct ReloadTimes {
    /// When the reload was triggered (the file event).
    pub triggered: Option<Instant>,
    /// When the consumer put the new parts in place.
    pub applied: Option<Instant>,
    /// When the first batch under the new parts was processed.
    pub first_record: Option<Instant>,
}

impl ReloadStatus {
    pub fn triggered(&self, at: Instant) {
        *self.inner.lock().expect("reload status poisoned") = ReloadTimes { triggered: Some(at), ..Default::default() };
    }

    pub fn applied(&self) {
        self.inner.lock().expect("reload status poisoned").applied = Some(Instant::now());
    }

    /// Called after every processed batch; records only the first one after a reload.
    pub fn first_record_processed(&self) {
        let mut times = self.inner.lock().expect("reload status poisoned");
        if times.applied.is_some() && times.first_record.is_none() {
            times.first_record = Some(Instant::now());
        }
    }

    pub fn times(&self) -> ReloadTimes {
        *self.inner.lock().expect("reload status poisoned")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_not_taken_in_time_are_withdrawn_for_good() {
        let (late, offered) = offer("parts");
        assert!(!offered.taken_within(Duration::from_millis(1)));
        assert_eq!(late.take(), None, "a withdrawn offer is never applied later");

        let (prompt, offered) = offer("parts");
        assert_eq!(prompt.take(), Some("parts"));
        assert!(offered.taken_within(Duration::from_millis(1)));
    }
}
