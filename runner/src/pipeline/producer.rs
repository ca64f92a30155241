//! The producer half: source -> transport. A batch the transport cannot
//! take yet is retried, never dropped. Between batches (and during a
//! source's pauses) it applies hot reloads: a new source carrying the old
//! one's position, a new transport after flushing the old one.
//!
//! Every `checkpoint_every`, once the transport has delivered everything
//! sent so far, the source's state is checkpointed with how far the
//! transport had got; a restarted producer resumes its source from there
//! and the transport skips what was written after it.

use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::Shared;
use super::control::{Offer, ProducerSwap, carry_state};
use super::counters::Counters;
use super::dead_letters::DeadLetter;
use super::record_gate;
use crate::plugin_host::{Poll, StageInstance};
use crate::state::StageState;
use crate::throttle::Throttle;

use crate::transport::{EndMark, SendProgress, TransportState, TransportStatus, TransportWriter};

/// Records asked of the source per poll.
pub const BATCH: usize = 1024;
/// How long a stopping producer keeps trying to deliver what it holds.
const STOP_FLUSH_LIMIT: Duration = Duration::from_secs(10);
/// How long a transport switch waits for the old transport to take what
/// was sent on it before the reload is refused.
const SWAP_DELIVER_LIMIT: Duration = Duration::from_secs(20);
/// How much of a source's wait may go to sending what it made: no longer
/// than a pause takes to notice a stop.
const SEND_NOW_LIMIT: Duration = Duration::from_millis(50);

pub struct Producer {
    pub source: StageInstance,
    /// The source's state-defining settings, saved with its position.
    pub meaning: Option<serde_json::Value>,
    pub writer: Box<dyn TransportWriter>,
    pub control: Receiver<Offer<ProducerSwap>>,
    pub checkpoint_every: Duration,
    /// Resume the source from the transport's checkpoint (not when a reload
    /// starts a new run after the old source was exhausted).
    pub resume: bool,
}

impl Producer {
    pub fn run(mut self, shared: &Shared) {
        let mut errors = Throttle::new(Duration::from_secs(5));
        let mut connected = false;
        if self.resume && !self.resume_source(shared) {
            return;
        }
        let mut checkpoint_at = Instant::now();
        while !shared.stop.is_stopped() {
            while let Ok(offer) = self.control.try_recv() {
                self.apply(offer, shared);
            }
            let source_type = self.source.type_name().to_string();
            let batch = match self.source.poll(BATCH) {
                Ok(batch) => batch,
                Err(e) => {
                    if errors.ready() {
                        tracing::error!(pipeline = %shared.name, "source {source_type} failed, retrying: {e}");
                    }
                    shared.stop.wait(errors.backoff());
                    continue;
                }
            };
            for reject in batch.rejects.iter() {
                let (payload, reason) = (reject.payload.unwrap_or_default(), String::from_utf8_lossy(reject.reason));
                shared.dead_letter(DeadLetter::new("source", &source_type, &reason, payload).panicked(reject.panicked));
            }
            // Records over max_record_bytes never reach the transport: a
            // broker would refuse them (librdkafka's message.max.bytes), and
            // the consumer would refuse them anyway.
            let max_bytes = shared.handover.max_record_bytes.load(Ordering::Relaxed);
            let mut records = Vec::with_capacity(batch.records.len());
            let mut bytes = 0;
            for record in batch.records.iter() {
                if record.payload.len() as u64 <= max_bytes {
                    bytes += record.payload.len();
                    records.push(record);
                } else {
                    let reason = record_gate::too_large(record.payload.len(), max_bytes);
                    shared.dead_letter(DeadLetter::new("transport", "send", &reason, record.payload));
                }
            }
            // Retried with the same progress: what a failed try already sent
            // is not sent again.
            let mut progress = SendProgress::default();
            while let Err(e) = self.writer.send(&records, &mut progress) {
                shared.set_transport(TransportStatus::new(TransportState::Retrying(e.to_string()), None));
                if errors.ready() {
                    tracing::warn!(pipeline = %shared.name, "transport cannot take records yet, retrying: {e}");
                }
                if shared.stop.wait(errors.backoff()) {
                    tracing::warn!(pipeline = %shared.name, "stopped before the transport took {} records: they were not sent", records.len() - progress.taken);
                    return self.close(shared);
                }
            }
            if errors.failures() > 0 || !connected {
                shared.set_transport(TransportStatus::new(TransportState::Connected, None));
                connected = true;
            }
            errors.reset();
            Counters::add(&shared.counters.produced, records.len() - progress.rejected.len());
            Counters::add(&shared.counters.produced_bytes, bytes);
            for (index, reason) in &progress.rejected {
                shared.dead_letter(DeadLetter::new("transport", "send", reason, records[*index].payload));
            }
            let poll = batch.poll;
            self.dead_letter_failed(shared);
            shared.wait_for_dead_letters();
            shared.wait_for_lag(&source_type, &*self.writer);
            if checkpoint_at.elapsed() >= self.checkpoint_every {
                checkpoint_at = Instant::now();
                self.checkpoint(shared);
            }
            match poll {
                Poll::Ready => {}
                // What the source made may go to the broker now rather
                // than after Kafka's linger; the time that takes comes out
                // of the wait, so a paced source keeps its pace.
                Poll::Wait(wait) => {
                    let started = Instant::now();
                    self.writer.source_waits(wait, wait.min(SEND_NOW_LIMIT));
                    if self.pause(wait.saturating_sub(started.elapsed()), shared) {
                        break;
                    }
                }
                Poll::Done => {
                    tracing::info!(pipeline = %shared.name, "source {source_type} is exhausted");
                    break;
                }
            }
        }
        self.close(shared);
    }

    /// Resumes the source from the transport's checkpoint, if it has one;
    /// false if the pipeline stopped (or failed) meanwhile.
    fn resume_source(&mut self, shared: &Shared) -> bool {
        let source_type = self.source.type_name().to_string();
        let mut errors = Throttle::new(Duration::from_secs(5));
        let saved = loop {
            match self.writer.resume_source(&source_type, &self.meaning) {
                Ok(saved) => break saved,
                Err(e) => {
                    shared.set_transport(TransportStatus::new(TransportState::Retrying(e.to_string()), None));
                    if errors.ready() {
                        tracing::warn!(pipeline = %shared.name, "cannot read the source's checkpoint yet, retrying: {e}");
                    }
                    if shared.stop.wait(errors.backoff()) {
                        return false;
                    }
                }
            }
        };
        let Some(state) = saved else {
            // A first checkpoint before anything is sent: a producer killed
            // before its next one then resumes here and repeats nothing.
            self.checkpoint(shared);
            return true;
        };
        match self.source.restore_state(&state) {
            Ok(()) => {
                tracing::info!(pipeline = %shared.name, "source {source_type} resumes from its checkpoint");
                true
            }
            Err(e) => {
                shared.fail(format!(
                    "source {source_type} cannot read its checkpointed position ({e}); start over with `buzz reset`"
                ));
                false
            }
        }
    }

    /// Saves the source's position once everything sent so far is delivered.
    fn checkpoint(&mut self, shared: &Shared) {
        if let Err(e) = self.writer.flush() {
            tracing::debug!(pipeline = %shared.name, "source checkpoint postponed: {e}");
            return;
        }
        // The records the source dead-lettered must be kept before its
        // position passes them.
        if let Err(e) = shared.dead_letters.sync() {
            tracing::warn!(pipeline = %shared.name, "not checkpointing the source: {e}; retrying");
            return;
        }
        let source_type = self.source.type_name().to_string();
        let meaning = self.meaning.clone();
        let saved = self.source.save_state().map_err(|e| e.to_string()).and_then(|state| {
            let source = StageState { type_name: source_type.clone(), state, meaning };
            self.writer.checkpoint_source(source).map_err(|e| e.to_string())
        });
        if let Err(e) = saved {
            tracing::warn!(pipeline = %shared.name, "cannot checkpoint source {source_type}, retrying: {e}");
        }
    }

    /// Waits for the source's next turn, applying reloads that come in
    /// meanwhile (a reload ends the wait: the new source may be faster).
    /// True if the pipeline is stopping.
    fn pause(&mut self, wait: Duration, shared: &Shared) -> bool {
        let until = Instant::now() + wait;
        loop {
            if shared.stop.is_stopped() {
                return true;
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            match self.control.recv_timeout(left.min(Duration::from_millis(50))) {
                Ok(offer) => {
                    self.apply(offer, shared);
                    return false;
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return shared.stop.wait(left),
            }
        }
    }

    /// Applies a hot reload (unless it was withdrawn) and says where the
    /// old transport ended.
    fn apply(&mut self, offer: Offer<ProducerSwap>, shared: &Shared) {
        let Some(ProducerSwap { source, reset_source, writer, done }) = offer.take() else { return };
        let result = self.swap_parts(source, reset_source, writer, shared);
        let _ = done.send(result);
    }

    /// All or nothing: on `Err` the running parts are untouched.
    fn swap_parts(
        &mut self,
        source: Option<(StageInstance, Option<serde_json::Value>)>,
        reset_source: bool,
        writer: Option<Box<dyn TransportWriter>>,
        shared: &Shared,
    ) -> Result<Option<EndMark>, String> {
        let mut source = source;
        if let Some((new, _)) = &mut source {
            carry_state(&mut self.source, new, reset_source)
                .map_err(|e| format!("the source's position could not be carried over: {e}"))?;
        }
        let mut old_end = None;
        if let Some(writer) = writer {
            // Bounded: the reload waits for this answer, and the consumer
            // holds its part of the reload meanwhile.
            if !self.deliver_all_within(shared, Some(SWAP_DELIVER_LIMIT)) {
                return Err(format!(
                    "the old transport did not take the {} records sent on it within {SWAP_DELIVER_LIMIT:?}",
                    self.writer.pending()
                ));
            }
            old_end = Some(self.writer.end_mark());
            self.writer = writer;
        }
        if let Some((new, meaning)) = source {
            self.source = new;
            self.meaning = meaning;
            if reset_source {
                // Saved at once: a restart must not resume the new source
                // from the old one's position.
                self.checkpoint(shared);
            }
        }
        Ok(old_end)
    }

    /// Records the transport took but could not deliver go to the dead letters.
    fn dead_letter_failed(&mut self, shared: &Shared) {
        let mut failed = Vec::new();
        self.writer.take_failed(&mut failed);
        for (payload, reason) in &failed {
            Counters::sub(&shared.counters.produced, 1);
            shared.dead_letter(DeadLetter::new("transport", "deliver", reason, payload));
        }
    }

    /// Flushes and tells the consumer how far it must read.
    fn close(mut self, shared: &Shared) {
        self.deliver_all(shared);
        self.checkpoint(shared);
        *shared.handover.end_mark.lock().expect("end mark poisoned") = Some(self.writer.end_mark());
    }

    /// Flushes the transport, waiting for an absent broker (but not for
    /// ever once asked to stop).
    fn deliver_all(&mut self, shared: &Shared) {
        self.deliver_all_within(shared, None);
    }

    /// As [`Producer::deliver_all`], giving up after `limit`; true if all
    /// was delivered.
    fn deliver_all_within(&mut self, shared: &Shared, limit: Option<Duration>) -> bool {
        let mut errors = Throttle::new(Duration::from_secs(5));
        let mut stopped_at = None;
        let started = Instant::now();
        while let Err(e) = self.writer.flush() {
            if errors.ready() {
                tracing::warn!(pipeline = %shared.name, "waiting for the transport to take {} records: {e}", self.writer.pending());
            }
            if limit.is_some_and(|limit| started.elapsed() > limit) {
                return false;
            }
            if shared.stop.is_stopped() && stopped_at.get_or_insert_with(Instant::now).elapsed() > STOP_FLUSH_LIMIT {
                tracing::error!(pipeline = %shared.name, "exiting with {} records not delivered: the transport did not take them", self.writer.pending());
                break;
            }
            shared.stop.wait(errors.backoff());
        }
        self.dead_letter_failed(shared);
        true
    }
}
