//! The consumer half: transport -> transform -> chart, one batch at a time,
//! committing each batch's position only after the transform took it.
//! Between batches it applies hot reloads: new stages (with their
//! predecessors' state), a new transport (after draining the old one), a new
//! chart output.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use buzz_sdk::abi::{FfiHeader, FfiRecord};

use super::Shared;
use super::control::{BranchSwap, ConsumerSwap, Offer, carry_state};
use super::counters::Counters;
use super::dead_letters::DeadLetter;
use super::frame_clock::{Drawing, FrameClock};
use super::record_gate::RecordGate;
use super::refusals::RefusalWatches;
use super::tasks::{BranchTask, Task, Tasks, build};
use super::throttle::Throttle;
use super::view;
use crate::chart_output::ChartWriter;
use crate::config::StageSpec;
use crate::plugin_host::{Batch, ChartRenderer, PluginBytes, StageInstance};
use crate::state::TaskCheckpoint;
use crate::transport::{EndMark, RecordBatch, TransportReader, TransportStatus};

/// Records read per batch.
pub const BATCH: usize = 1024;
/// Longest a stopping pipeline waits for records already produced.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);
/// Longest a transport switch waits to read what was sent on the old one.
const SWITCH_DRAIN_LIMIT: Duration = Duration::from_secs(10);
/// Longest a read waits while the consumer holds a reload's parts.
const HELD_POLL: Duration = Duration::from_millis(2);
/// How often the transport's state is published for the dashboard.
const STATUS_EVERY: Duration = Duration::from_millis(250);

pub struct Consumer {
    pub reader: Box<dyn TransportReader>,
    /// A transform and a chart per branch and input partition.
    pub tasks: Tasks,
    /// One per branch, in order.
    pub writers: Vec<ChartWriter>,
    pub frames: FrameClock,
    /// How often the tasks' state is checkpointed with their positions.
    pub checkpoint_every: Duration,
    pub control: Receiver<Offer<ConsumerSwap>>,
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
    /// Indices of the batch's records that passed the gate, per partition.
    passed: BTreeMap<i32, Vec<usize>>,
    records: Vec<FfiRecord>,
    headers: Vec<FfiHeader>,
}

impl Consumer {
    /// The chart writers taken together: idle when every branch's is, and
    /// a frame costs what all branches' frames cost.
    fn drawing(&self) -> Drawing {
        let each = self.writers.iter().map(ChartWriter::drawing);
        each.fold(Drawing { idle: true, last_draw: Duration::ZERO }, |all, one| Drawing {
            idle: all.idle && one.idle,
            last_draw: all.last_draw + one.last_draw,
        })
    }

    pub fn run(mut self, shared: &Shared) {
        self.reader.limit_record_bytes(self.gate.max_bytes());
        let mut buffers = Buffers::default();
        let mut read_errors = Throttle::new(Duration::from_secs(5));
        let mut stopping_since: Option<Instant> = None;
        let mut status_at = Instant::now() - STATUS_EVERY;
        let mut checkpoint_at = Instant::now();
        // Reload parts taken and held until the reload says to apply them.
        let mut held: Option<ConsumerSwap> = None;
        let mut refusals = RefusalWatches::new(shared);
        loop {
            self.follow_reload(&mut held, &mut buffers, shared);
            self.follow_partitions(shared);
            if shared.stop.is_stopped() && shared.failed() {
                break;
            }
            if status_at.elapsed() >= STATUS_EVERY {
                status_at = Instant::now();
                shared.set_transport(
                    TransportStatus::new(self.reader.state(), self.reader.lag()).with_warning(self.reader.warning()),
                );
            }
            // Other consumers' checkpoints, for the chart of the whole input.
            if self.reader.poll_peers() {
                self.frames.changed();
            }
            // Held reload parts are applied as soon as the reload says so.
            let drawing = self.drawing();
            let wait = if held.is_some() {
                self.frames.wait_hint(drawing).min(HELD_POLL)
            } else {
                self.frames.wait_hint(drawing)
            };
            match self.reader.read(&mut buffers.batch, BATCH, wait) {
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
            if buffers.batch.len() >= BATCH {
                self.frames.behind();
            }
            self.take_batch(&mut buffers, shared);
            refusals.check(shared);
            // A rebalance ends a read: its partitions change after its records.
            self.follow_partitions(shared);
            if checkpoint_at.elapsed() >= self.checkpoint_every {
                checkpoint_at = Instant::now();
                self.checkpoint(shared, |task| task.dirty);
            }
            if self.frames.due(self.drawing()) {
                self.draw(shared);
            }
            if self.finished(shared, &mut stopping_since, buffers.batch.is_empty()) {
                break;
            }
        }
        self.finish(shared);
    }

    /// Processes what the last read returned and marks the position taken.
    fn take_batch(&mut self, buffers: &mut Buffers, shared: &Shared) {
        if buffers.batch.is_empty() {
            return;
        }
        self.process(buffers, shared);
        shared.wait_for_dead_letters();
        if let Err(e) = self.reader.commit() {
            tracing::warn!(pipeline = %shared.name, "cannot save the read position: {e}");
        }
        self.frames.changed();
        shared.handover.reload_times.first_record_processed();
    }

    /// Takes on the partitions the transport assigned (restored from their
    /// checkpoints) and lets go of those it revoked (checkpointed first).
    fn follow_partitions(&mut self, shared: &Shared) {
        if let Some(why) = self.reader.failure() {
            return shared.fail(why);
        }
        let revoked = self.reader.take_revoked();
        if !revoked.is_empty() {
            self.checkpoint(shared, |_| true);
            for partition in revoked {
                self.tasks.remove(partition);
            }
            self.frames.changed();
        }
        for checkpoint in self.reader.take_restored() {
            self.restore(&checkpoint, shared);
        }
    }

    fn restore(&mut self, checkpoint: &TaskCheckpoint, shared: &Shared) {
        match self.tasks.install(checkpoint) {
            Ok(reset) => {
                tracing::info!(pipeline = %shared.name, partition = checkpoint.partition, "state restored from the checkpoint at position {}", checkpoint.next);
                for note in reset {
                    tracing::warn!(pipeline = %shared.name, partition = checkpoint.partition, "{note}: its state was reset");
                }
                self.frames.changed();
            }
            Err(e) => shared.fail(format!("cannot restore partition {}: {e}", checkpoint.partition)),
        }
    }

    /// Saves the state of the tasks `which` picks with their positions,
    /// after the dead letters they produced are on disk: a position never
    /// passes a record that is not kept somewhere.
    fn checkpoint(&mut self, shared: &Shared, which: impl Fn(&Task) -> bool) {
        if !self.reader.keeps_checkpoints() {
            return;
        }
        if let Err(e) = shared.dead_letters.sync() {
            tracing::warn!(pipeline = %shared.name, "not checkpointing: the dead letters could not be saved ({e}); retrying");
            return;
        }
        let mut checkpoints = Vec::new();
        let reader = &*self.reader;
        let (specs, named) = (self.tasks.branches.clone(), self.tasks.named);
        for (partition, task) in self.tasks.iter_mut().filter(|(_, t)| which(t)) {
            let Some(next) = reader.position(partition) else { continue };
            match task.checkpoint(partition, next, &specs, named) {
                Ok(checkpoint) => checkpoints.push(checkpoint),
                Err(e) => tracing::error!(pipeline = %shared.name, "cannot checkpoint partition {partition}: {e}"),
            }
        }
        if checkpoints.is_empty() {
            return;
        }
        match self.reader.save_checkpoints(&checkpoints) {
            Ok(()) => {
                for (partition, task) in self.tasks.iter_mut() {
                    if checkpoints.iter().any(|c| c.partition == partition) {
                        task.dirty = false;
                    }
                }
                shared.checkpointed();
            }
            Err(e) => tracing::warn!(pipeline = %shared.name, "cannot save the checkpoint, retrying: {e}"),
        }
    }

    /// Whether the loop should end now.
    fn finished(&mut self, shared: &Shared, stopping_since: &mut Option<Instant>, idle: bool) -> bool {
        let end_mark = shared.handover.end_mark.lock().expect("end mark poisoned").clone();
        let producer_done = end_mark.as_ref().is_some_and(|mark| self.reader.reached(mark));
        if shared.stop.is_stopped() {
            let since = *stopping_since.get_or_insert_with(Instant::now);
            // With a producer here, take what it already sent (bounded);
            // otherwise stop at once: the checkpoint keeps the rest.
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
            let passed = buffers.passed.entry(batch.position(i).partition()).or_default();
            let verdict = match batch.refusal(i) {
                Some(reason) => Err(reason.to_string()),
                None => self.gate.check(batch.payload(i)),
            };
            match verdict {
                Ok(()) => passed.push(i),
                Err(reason) => shared.dead_letter(
                    DeadLetter::new("transport", "check", &reason, batch.payload(i)).from_batch(batch, i, reader),
                ),
            }
        }
        for (&partition, passed) in &buffers.passed {
            let task = match self.tasks.get(partition) {
                Ok(task) => task,
                Err(e) => {
                    tracing::error!(pipeline = %shared.name, "partition {partition}: {e}");
                    for &i in passed {
                        let letter = DeadLetter::new("transform", "", &e, batch.payload(i));
                        shared.dead_letter(letter.from_batch(batch, i, reader));
                    }
                    continue;
                }
            };
            // Even a batch that all went to the dead letters moves the position.
            task.dirty = true;
            batch.ffi(passed, &mut buffers.records, &mut buffers.headers);
            let input = Input { records: &buffers.records, passed, batch, reader };
            let mut refused = BTreeSet::new();
            // Every branch gets every record; one branch's refusal is its own.
            for (index, branch) in task.branches.iter_mut().enumerate() {
                let its = process_branch(branch, index, &input, shared);
                Counters::add(&shared.branches[index].records_out, passed.len().saturating_sub(its.len()));
                refused.extend(its);
            }
            Counters::add(&shared.counters.records_out, passed.len() - refused.len());
        }
    }

    fn draw(&mut self, shared: &Shared) {
        for branch in 0..self.writers.len() {
            match self.current_frame(branch) {
                Ok((frame, renderer)) => {
                    self.writers[branch].submit(frame, renderer);
                }
                Err(e) => {
                    tracing::error!(pipeline = %shared.name, "{}the chart failed to give a frame: {e}", self.tasks.label(&self.tasks.branches[branch]))
                }
            }
        }
    }

    /// Branch `branch`'s chart of everything this consumer and its peers
    /// hold: its one task's own chart when it holds the whole input, else
    /// a merge.
    fn current_frame(&mut self, branch: usize) -> Result<(PluginBytes, ChartRenderer), String> {
        let peers = self.reader.peer_checkpoints();
        if peers.is_empty()
            && let Some(task) = self.tasks.only()
        {
            let chart = &mut task.branches[branch].chart;
            let frame = chart.frame().map_err(|e| e.to_string())?;
            return Ok((frame, chart.renderer()));
        }
        let own = self.tasks.states(branch)?;
        let (name, named) = (&self.tasks.branches[branch].name, self.tasks.named);
        let mut parts: Vec<view::PartialState<'_>> = own.iter().map(|(t, c)| (Some(t), Some(c))).collect();
        parts.extend(peers.iter().map(|p| p.branch(name, named)));
        let mut chart = view::merged_chart(&self.tasks, branch, &parts)?;
        let frame = chart.frame().map_err(|e| e.to_string())?;
        Ok((frame, chart.renderer()))
    }

    /// The input has ended (or the pipeline stops): every transform's
    /// held-back output goes to its chart.
    fn flush_transforms(&mut self, shared: &Shared) {
        for (_, task) in self.tasks.iter_mut() {
            for (index, branch) in task.branches.iter_mut().enumerate() {
                if flush_transform(branch, index, shared) {
                    self.frames.changed();
                }
            }
        }
    }

    /// End of input: flush the transforms, draw the final chart, save the checkpoint.
    fn finish(mut self, shared: &Shared) {
        if shared.failed() {
            // A task could not be restored: saving now would overwrite its checkpoint.
            return;
        }
        self.flush_transforms(shared);
        self.checkpoint(shared, |_| true);
        if let Err(e) = self.reader.close() {
            tracing::error!(pipeline = %shared.name, "cannot close the transport: {e}");
        }
        // A frame is drawn only for a change (or if none was drawn yet).
        let settled = self.frames.settled();
        for (branch, writer) in std::mem::take(&mut self.writers).into_iter().enumerate() {
            if settled {
                writer.close();
                continue;
            }
            match self.current_frame(branch) {
                Ok((frame, renderer)) => {
                    writer.finish(frame, renderer);
                }
                Err(e) => {
                    tracing::error!(pipeline = %shared.name, "{}the chart failed to give its final frame: {e}", self.tasks.label(&self.tasks.branches[branch]))
                }
            }
        }
    }

    /// Takes offered reload parts, and applies (or drops) the held ones
    /// once the reload says so; records are read meanwhile.
    fn follow_reload(&mut self, held: &mut Option<ConsumerSwap>, buffers: &mut Buffers, shared: &Shared) {
        while held.is_none()
            && let Ok(offer) = self.control.try_recv()
        {
            *held = offer.take();
        }
        let Some(swap) = held.take() else { return };
        match swap.go.try_recv() {
            Ok(drain_to) => self.apply(swap, drain_to, buffers, shared),
            Err(std::sync::mpsc::TryRecvError::Empty) => *held = Some(swap),
            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                tracing::debug!(pipeline = %shared.name, "reload withdrawn: the producer could not take its part");
            }
        }
    }

    /// Applies a hot reload between batches and says how it went.
    fn apply(&mut self, swap: ConsumerSwap, drain_to: Option<EndMark>, buffers: &mut Buffers, shared: &Shared) {
        let ConsumerSwap { branches, reader, frame_interval, gate, done, .. } = swap;
        if let Some(gate) = gate {
            self.gate = gate;
        }
        if let Some(reader) = reader {
            self.switch_transport(reader, drain_to.as_ref(), buffers, shared);
        }
        self.reader.limit_record_bytes(self.gate.max_bytes());
        let reset = branches.iter().any(|b| b.reset_transform || b.reset_chart);
        let result = self.swap_stages(branches);
        if result.is_ok() && reset {
            // Saved at once: a restart must not restore the state of before.
            self.checkpoint(shared, |_| true);
        }
        if let Some(interval) = frame_interval {
            self.frames.interval = interval;
        }
        // Show the change at once, even with no new records.
        self.frames.changed();
        if result.is_ok() {
            shared.handover.reload_times.applied();
        }
        let _ = done.send(result);
    }

    /// Reads what was sent on the old transport, then moves to the new one,
    /// so a switch loses nothing: up to where the local producer left it
    /// (`drain_to`), or, with no producer here, to its end as written when
    /// the switch applies (a producer elsewhere switches on the same save).
    fn switch_transport(
        &mut self,
        reader: Box<dyn TransportReader>,
        drain_to: Option<&EndMark>,
        buffers: &mut Buffers,
        shared: &Shared,
    ) {
        let started = Instant::now();
        // The last batch was taken already; an empty read now means the end.
        buffers.batch.clear();
        let mut empty_reads = 0;
        loop {
            let drained = match drain_to {
                Some(mark) => self.reader.reached(mark),
                // An empty file is never "caught up"; a few empty reads end it.
                None => self.local_producer || (empty_reads > 0 && (self.reader.caught_up() || empty_reads >= 3)),
            };
            if drained {
                break;
            }
            if started.elapsed() > SWITCH_DRAIN_LIMIT || shared.stop.is_stopped() {
                tracing::warn!(pipeline = %shared.name, "switching transport before reading everything sent on the old one; the rest stays there, behind the checkpoint");
                break;
            }
            if self.reader.read(&mut buffers.batch, BATCH, Duration::from_millis(50)).is_ok() {
                empty_reads = if buffers.batch.is_empty() { empty_reads + 1 } else { 0 };
                self.take_batch(buffers, shared);
            }
        }
        if drain_to.is_none() && !self.local_producer {
            tracing::info!(pipeline = %shared.name, "read the old transport to its end before switching");
        }
        self.checkpoint(shared, |_| true);
        if let Err(e) = self.reader.close() {
            tracing::warn!(pipeline = %shared.name, "cannot close the old transport: {e}");
        }
        self.reader = reader;
        buffers.batch.clear();
    }

    /// Puts new stages (and chart outputs) in place in every task's
    /// branches, each carrying its predecessor's state; all or nothing.
    fn swap_stages(&mut self, branches: Vec<BranchSwap>) -> Result<(), String> {
        if branches.is_empty() {
            return Ok(());
        }
        type Built = Vec<(Option<StageInstance>, Option<StageInstance>)>;
        let mut replaced: Vec<(i32, Built)> = Vec::new();
        for (partition, task) in self.tasks.iter_mut() {
            let mut built = Vec::new();
            for (swap, old) in branches.iter().zip(&mut task.branches) {
                let transform = swap
                    .transform
                    .as_ref()
                    .map(|s| successor(&mut old.transform, s, swap.reset_transform))
                    .transpose()?;
                let chart = swap.chart.as_ref().map(|s| successor(&mut old.chart, s, swap.reset_chart)).transpose()?;
                built.push((transform, chart));
            }
            replaced.push((partition, built));
        }
        for (partition, built) in replaced {
            let task = self.tasks.get(partition)?;
            for ((swap, old), (transform, chart)) in branches.iter().zip(&mut task.branches).zip(built) {
                task.dirty |= swap.reset_transform || swap.reset_chart;
                // A transform that starts afresh (reset, or another type)
                // feeds a chart reset with it: what it held back goes too.
                if let Some(new) = transform {
                    old.transform = new;
                }
                if let Some(new) = chart {
                    old.chart = new;
                }
            }
        }
        for (index, swap) in branches.into_iter().enumerate() {
            if let Some(writer) = swap.writer {
                // The old writer finishes its thread when dropped.
                self.writers[index] = writer;
            }
            self.tasks.branches[index] = swap.spec;
        }
        Ok(())
    }
}

/// A stage built from `spec` with `old`'s state carried over (unless `reset`).
fn successor(old: &mut StageInstance, spec: &StageSpec, reset: bool) -> Result<StageInstance, String> {
    let mut new = build(spec)?;
    carry_state(old, &mut new, reset)
        .map_err(|e| format!("the {}'s state could not be carried over: {e}", spec.section))?;
    Ok(new)
}

/// One batch of a partition's records, as every branch sees it.
struct Input<'a> {
    records: &'a [FfiRecord],
    /// The batch indices of `records`.
    passed: &'a [usize],
    batch: &'a RecordBatch,
    reader: &'a dyn TransportReader,
}

/// One partition's records through branch `index`'s transform and into its
/// chart; answers the indices (into `records`) of those the transform
/// refused.
fn process_branch(task: &mut BranchTask, index: usize, input: &Input<'_>, shared: &Shared) -> BTreeSet<usize> {
    let Input { records, passed, batch, reader } = *input;
    let transform_type = task.transform.type_name().to_string();
    let mut refused = BTreeSet::new();
    match task.transform.process(records) {
        Ok(out) => {
            for reject in out.rejects {
                refused.insert(reject.input_index);
                let letter = DeadLetter::new("transform", &transform_type, reason_of(reject), &[])
                    .panicked(reject.panicked != 0);
                let letter = match passed.get(reject.input_index) {
                    None => letter,
                    Some(&at) => DeadLetter { payload: batch.payload(at), ..letter }.from_batch(batch, at, reader),
                };
                shared.branch_dead_letter(index, letter);
            }
            feed_chart(&mut task.chart, index, out, shared);
        }
        Err(e) => {
            // The whole batch failed (its end-of-batch step erred or panicked):
            // every record goes to the dead letters with the reason.
            let branch = shared.branches[index].name.as_deref();
            tracing::error!(pipeline = %shared.name, branch, "transform {transform_type} failed on a batch: {e}");
            refused.extend(0..passed.len());
            for &i in passed {
                let letter = DeadLetter::new("transform", &transform_type, &e.message, batch.payload(i));
                shared.branch_dead_letter(index, letter.panicked(e.panicked).from_batch(batch, i, reader));
            }
        }
    }
    refused
}

/// Flushes branch `index`'s transform's held-back output (a partial batch)
/// into its chart; says whether it gave the chart anything.
fn flush_transform(task: &mut BranchTask, index: usize, shared: &Shared) -> bool {
    match task.transform.flush() {
        Ok(out) => {
            let fed = !out.records.is_empty();
            feed_chart(&mut task.chart, index, out, shared);
            fed
        }
        Err(e) => {
            let branch = shared.branches[index].name.as_deref();
            tracing::error!(pipeline = %shared.name, branch, "transform {} failed to flush: {e}", task.transform.type_name());
            false
        }
    }
}

/// Gives a transform's output to branch `index`'s chart; its rejects are
/// dead-lettered.
fn feed_chart(chart: &mut StageInstance, index: usize, out: Batch<'_>, shared: &Shared) {
    if out.records.is_empty() {
        return;
    }
    let type_name = chart.type_name().to_string();
    match chart.process(out.records) {
        Ok(charted) => {
            for reject in charted.rejects {
                // SAFETY: the transform's output is alive until its next call.
                let payload = out.records.get(reject.input_index).map_or(&[][..], |r| unsafe { r.payload.as_bytes() });
                let letter = DeadLetter::new("chart", &type_name, reason_of(reject), payload);
                shared.branch_dead_letter(index, letter.panicked(reject.panicked != 0));
            }
        }
        Err(e) => {
            let branch = shared.branches[index].name.as_deref();
            tracing::error!(pipeline = %shared.name, branch, "chart {type_name} failed on a batch: {e}");
            for record in out.records {
                // SAFETY: as above.
                let payload = unsafe { record.payload.as_bytes() };
                let letter = DeadLetter::new("chart", &type_name, &e.message, payload);
                shared.branch_dead_letter(index, letter.panicked(e.panicked));
            }
        }
    }
}

/// A reject's reason as text.
fn reason_of(reject: &buzz_sdk::abi::FfiReject) -> &str {
    // SAFETY: the reject is part of a live stage output.
    std::str::from_utf8(unsafe { reject.reason.as_bytes() }).unwrap_or("(reason is not UTF-8)")
}
