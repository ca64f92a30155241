//! The consumer half: transport -> transform -> chart, one batch at a time,
//! committing each batch's position only after the transform took it.
//! Between batches it applies hot reloads: new stages (with their
//! predecessors' state), a new transport (after draining the old one), a new
//! chart output.

use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use buzz_sdk::abi::{FfiHeader, FfiRecord};

use super::Shared;
use super::control::{ConsumerSwap, carry_state};
use super::counters::Counters;
use super::dead_letters::DeadLetter;
use super::record_gate::RecordGate;
use super::throttle::Throttle;
use crate::chart_output::ChartWriter;
use crate::plugin_host::{Batch, StageInstance};
use crate::transport::{EndMark, RecordBatch, TransportReader, TransportStatus};

/// Records read per batch.
pub const BATCH: usize = 1024;
/// Longest a stopping pipeline waits for records already produced.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);
/// Longest a transport switch waits to read what was sent on the old one.
const SWITCH_DRAIN_LIMIT: Duration = Duration::from_secs(10);
/// How often the transport's state is published for the dashboard.
const STATUS_EVERY: Duration = Duration::from_millis(250);

pub struct Consumer {
    pub reader: Box<dyn TransportReader>,
    pub transform: StageInstance,
    pub chart: StageInstance,
    pub writer: ChartWriter,
    pub frames: FrameClock,
    pub control: Receiver<ConsumerSwap>,
    /// Checks each record before the transform sees it.
    pub gate: RecordGate,
    /// Stop once caught up with the transport, when no producer runs here.
    pub exit_when_caught_up: bool,
    /// Stop once the local producer's end mark is reached.
    pub exit_when_producer_done: bool,
    /// A producer runs in this process: on a stop, take what it already sent.
    pub local_producer: bool,
}

/// Reusable buffers for one batch.
#[derive(Default)]
struct Buffers {
    batch: RecordBatch,
    /// Indices of the batch's records that passed the gate.
    passed: Vec<usize>,
    records: Vec<FfiRecord>,
    headers: Vec<FfiHeader>,
}

impl Consumer {
    pub fn run(mut self, shared: &Shared) {
        let mut buffers = Buffers::default();
        let mut read_errors = Throttle::new(Duration::from_secs(5));
        let mut stopping_since: Option<Instant> = None;
        let mut status_at = Instant::now() - STATUS_EVERY;
        loop {
            while let Ok(swap) = self.control.try_recv() {
                self.apply(swap, &mut buffers, shared);
            }
            if status_at.elapsed() >= STATUS_EVERY {
                status_at = Instant::now();
                shared.set_transport(
                    TransportStatus::new(self.reader.state(), self.reader.lag()).with_warning(self.reader.warning()),
                );
            }
            match self.reader.read(&mut buffers.batch, BATCH, self.frames.wait_hint()) {
                Ok(()) => read_errors.reset(),
                Err(e) => {
                    if read_errors.ready() {
                        tracing::warn!(pipeline = %shared.name, "transport read failed, retrying: {e}");
                    }
                    if shared.stop.is_stopped() {
                        // Nothing more can be read: stop now (or once a local
                        // producer had its chance to deliver).
                        let since = *stopping_since.get_or_insert_with(Instant::now);
                        if !self.local_producer || since.elapsed() > DRAIN_LIMIT {
                            break;
                        }
                    }
                    shared.stop.wait(read_errors.backoff());
                    continue;
                }
            }
            self.take_batch(&mut buffers, shared);
            if self.frames.due() {
                self.draw(shared);
            }
            if self.finished(shared, &mut stopping_since, buffers.batch.is_empty()) {
                break;
            }
        }
        self.finish(shared);
    }

    /// Processes what the last read returned and saves the position.
    fn take_batch(&mut self, buffers: &mut Buffers, shared: &Shared) {
        if buffers.batch.is_empty() {
            return;
        }
        self.process(buffers, shared);
        if let Err(e) = self.reader.commit() {
            tracing::warn!(pipeline = %shared.name, "cannot save the read position: {e}");
        }
        self.frames.changed();
        shared.reload_status.first_record_processed();
    }

    /// Whether the loop should end now.
    fn finished(&mut self, shared: &Shared, stopping_since: &mut Option<Instant>, idle: bool) -> bool {
        let end_mark = shared.end_mark.lock().expect("end mark poisoned").clone();
        let producer_done = end_mark.as_ref().is_some_and(|mark| self.reader.reached(mark));
        if shared.stop.is_stopped() {
            let since = *stopping_since.get_or_insert_with(Instant::now);
            // With a producer here, take what it already sent (bounded);
            // otherwise stop at once: the saved position keeps the rest.
            return !self.local_producer
                || producer_done
                || since.elapsed() > DRAIN_LIMIT
                || (idle && end_mark.is_none() && since.elapsed() > Duration::from_secs(1));
        }
        (self.exit_when_producer_done && producer_done) || (self.exit_when_caught_up && idle && self.reader.caught_up())
    }

    fn process(&mut self, buffers: &mut Buffers, shared: &Shared) {
        let batch = &buffers.batch;
        Counters::add(&shared.counters.consumed, batch.len());
        Counters::add(&shared.counters.consumed_bytes, (0..batch.len()).map(|i| batch.payload(i).len()).sum());
        let reader = &*self.reader;
        buffers.passed.clear();
        for i in 0..batch.len() {
            match self.gate.check(batch.payload(i)) {
                Ok(()) => buffers.passed.push(i),
                Err(reason) => shared.dead_letter(
                    DeadLetter::new("transport", "check", &reason, batch.payload(i)).from_batch(batch, i, reader),
                ),
            }
        }
        let passed = &buffers.passed;
        batch.ffi(passed, &mut buffers.records, &mut buffers.headers);
        let transform_type = self.transform.type_name().to_string();
        match self.transform.process(&buffers.records) {
            Ok(out) => {
                for reject in out.rejects {
                    let letter = DeadLetter::new("transform", &transform_type, reason_of(reject), &[])
                        .panicked(reject.panicked != 0);
                    let letter = match passed.get(reject.input_index) {
                        None => letter,
                        Some(&index) => {
                            DeadLetter { payload: batch.payload(index), ..letter }.from_batch(batch, index, reader)
                        }
                    };
                    shared.dead_letter(letter);
                }
                Counters::add(&shared.counters.records_out, passed.len() - out.rejects.len());
                feed_chart(&mut self.chart, out, shared);
            }
            Err(e) => {
                // The whole batch failed (its end-of-batch step erred or panicked):
                // every record goes to the dead letters with the reason.
                tracing::error!(pipeline = %shared.name, "transform {transform_type} failed on a batch: {e}");
                for &i in passed {
                    let letter = DeadLetter::new("transform", &transform_type, &e.message, batch.payload(i));
                    shared.dead_letter(letter.panicked(e.panicked).from_batch(batch, i, reader));
                }
            }
        }
    }

    fn draw(&mut self, shared: &Shared) {
        match self.chart.frame() {
            Ok(frame) => {
                self.writer.submit(frame, self.chart.renderer());
                Counters::add(&shared.counters.frames, 1);
            }
            Err(e) => {
                tracing::error!(pipeline = %shared.name, "chart {} failed to give a frame: {e}", self.chart.type_name())
            }
        }
    }

    /// The transform's held-back output (a partial batch) goes to the chart.
    fn flush_transform(&mut self, shared: &Shared) {
        match self.transform.flush() {
            Ok(out) => feed_chart(&mut self.chart, out, shared),
            Err(e) => {
                tracing::error!(pipeline = %shared.name, "transform {} failed to flush: {e}", self.transform.type_name())
            }
        }
    }

    /// End of input: flush the transform, draw the final chart, save the position.
    fn finish(mut self, shared: &Shared) {
        self.flush_transform(shared);
        match self.chart.frame() {
            Ok(frame) => {
                let renderer = self.chart.renderer();
                self.writer.finish(frame, renderer);
                Counters::add(&shared.counters.frames, 1);
            }
            Err(e) => {
                tracing::error!(pipeline = %shared.name, "chart {} failed to give its final frame: {e}", self.chart.type_name())
            }
        }
        if let Err(e) = self.reader.close() {
            tracing::error!(pipeline = %shared.name, "cannot save the final read position: {e}");
        }
    }

    /// Applies a hot reload between batches and says how it went.
    fn apply(&mut self, swap: ConsumerSwap, buffers: &mut Buffers, shared: &Shared) {
        let ConsumerSwap { transform, chart, reader, drain_to, writer, frame_interval, gate, done } = swap;
        if let Some(gate) = gate {
            self.gate = gate;
        }
        if let Some(reader) = reader {
            self.switch_transport(reader, drain_to.as_ref(), buffers, shared);
        }
        let result = self.swap_stages(transform, chart, shared);
        if let Some(writer) = writer {
            // The old writer finishes its thread when dropped.
            self.writer = writer;
        }
        if let Some(interval) = frame_interval {
            self.frames.interval = interval;
        }
        // Show the change at once, even with no new records.
        self.frames.changed();
        if result.is_ok() {
            shared.reload_status.applied();
        }
        let _ = done.send(result);
    }

    /// Reads what the local producer sent on the old transport, then moves
    /// to the new one, so a switch loses nothing.
    fn switch_transport(
        &mut self,
        reader: Box<dyn TransportReader>,
        drain_to: Option<&EndMark>,
        buffers: &mut Buffers,
        shared: &Shared,
    ) {
        if let Some(mark) = drain_to {
            let started = Instant::now();
            while !self.reader.reached(mark) {
                if started.elapsed() > SWITCH_DRAIN_LIMIT || shared.stop.is_stopped() {
                    tracing::warn!(pipeline = %shared.name, "switching transport before reading everything sent on the old one; the rest stays there, behind the saved position");
                    break;
                }
                if self.reader.read(&mut buffers.batch, BATCH, Duration::from_millis(50)).is_ok() {
                    self.take_batch(buffers, shared);
                }
            }
        }
        if let Err(e) = self.reader.close() {
            tracing::warn!(pipeline = %shared.name, "cannot save the position on the old transport: {e}");
        }
        self.reader = reader;
        buffers.batch.clear();
    }

    /// Puts new stages in place, each carrying its predecessor's state;
    /// all or nothing.
    fn swap_stages(
        &mut self,
        transform: Option<StageInstance>,
        chart: Option<StageInstance>,
        shared: &Shared,
    ) -> Result<(), String> {
        let mut transform = transform;
        let mut chart = chart;
        if let Some(new) = &mut transform {
            carry_state(&mut self.transform, new)
                .map_err(|e| format!("the transform's state could not be carried over: {e}"))?;
        }
        if let Some(new) = &mut chart {
            carry_state(&mut self.chart, new)
                .map_err(|e| format!("the chart's state could not be carried over: {e}"))?;
        }
        if let Some(new) = transform {
            if new.type_name() != self.transform.type_name() {
                // A different transform starts afresh: what the old one
                // held back goes to the chart first.
                self.flush_transform(shared);
            }
            self.transform = new;
        }
        if let Some(new) = chart {
            self.chart = new;
        }
        Ok(())
    }
}

/// Gives a transform's output to the chart; its rejects are dead-lettered.
fn feed_chart(chart: &mut StageInstance, out: Batch<'_>, shared: &Shared) {
    if out.records.is_empty() {
        return;
    }
    let type_name = chart.type_name().to_string();
    match chart.process(out.records) {
        Ok(charted) => {
            for reject in charted.rejects {
                // SAFETY: the transform's output is alive until its next call.
                let payload = out.records.get(reject.input_index).map_or(&[][..], |r| unsafe { r.payload.as_bytes() });
                shared.dead_letter(
                    DeadLetter::new("chart", &type_name, reason_of(reject), payload).panicked(reject.panicked != 0),
                );
            }
        }
        Err(e) => {
            tracing::error!(pipeline = %shared.name, "chart {type_name} failed on a batch: {e}");
            for record in out.records {
                // SAFETY: as above.
                let payload = unsafe { record.payload.as_bytes() };
                shared.dead_letter(DeadLetter::new("chart", &type_name, &e.message, payload).panicked(e.panicked));
            }
        }
    }
}

/// A reject's reason as text.
fn reason_of(reject: &buzz_sdk::abi::FfiReject) -> &str {
    // SAFETY: the reject is part of a live stage output.
    std::str::from_utf8(unsafe { reject.reason.as_bytes() }).unwrap_or("(reason is not UTF-8)")
}

/// Draw at most every `interval`, and only when something changed.
pub struct FrameClock {
    pub interval: Duration,
    last: Option<Instant>,
    dirty: bool,
}

impl FrameClock {
    pub fn new(interval: Duration) -> Self {
        FrameClock { interval, last: None, dirty: false }
    }

    fn changed(&mut self) {
        self.dirty = true;
    }

    /// How long a read may wait without delaying a due frame.
    fn wait_hint(&self) -> Duration {
        const IDLE: Duration = Duration::from_millis(100);
        match (self.dirty, self.last) {
            (true, Some(last)) => self.interval.saturating_sub(last.elapsed()).min(IDLE),
            (true, None) => Duration::ZERO,
            _ => IDLE,
        }
    }

    /// True (and resets) when a frame should be drawn now.
    fn due(&mut self) -> bool {
        if self.dirty && self.last.is_none_or(|t| t.elapsed() >= self.interval) {
            self.dirty = false;
            self.last = Some(Instant::now());
            return true;
        }
        false
    }
}
