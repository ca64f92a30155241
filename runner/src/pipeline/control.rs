//! What a hot reload hands to a running pipeline's threads, and how they
//! report back.

use std::sync::Mutex;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant, SystemTime};

use super::record_gate::RecordGate;
use crate::chart_output::ChartWriter;
use crate::config::StageSpec;
use crate::plugin_host::StageInstance;
use crate::transport::{EndMark, TransportReader, TransportWriter};

/// New parts for the consumer half; `None` keeps the running one.
pub struct ConsumerSwap {
    /// Built once per partition task (the reload built one to check it).
    pub transform: Option<StageSpec>,
    pub chart: Option<StageSpec>,
    pub reader: Option<Box<dyn TransportReader>>,
    /// Read the old transport up to here before switching.
    pub drain_to: Option<EndMark>,
    pub writer: Option<ChartWriter>,
    pub frame_interval: Option<Duration>,
    pub gate: Option<RecordGate>,
    pub done: Sender<Result<(), String>>,
}

/// New parts for the producer half; `None` keeps the running one.
pub struct ProducerSwap {
    pub source: Option<StageInstance>,
    pub writer: Option<Box<dyn TransportWriter>>,
    /// Answers with where the old transport ended, when it was replaced.
    pub done: Sender<Result<Option<EndMark>, String>>,
}

/// Moves `old`'s state into `new` when both are the same type of stage (a
/// restyled chart keeps its data; a retuned transform keeps its counts).
/// A different type of stage starts afresh.
pub fn carry_state(old: &mut StageInstance, new: &mut StageInstance) -> Result<(), String> {
    if old.type_name() != new.type_name() {
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
