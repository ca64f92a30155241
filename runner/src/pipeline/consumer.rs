//! The consumer half: transport -> transform -> chart, one batch at a time,
//! committing each batch's position only after the transform took it.
//! Between batches it applies hot reloads: new stages (with their
//! predecessors' state), a new transport (after draining the old one), a new
//! chart output.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use super::Shared;
use super::by_partition::ByPartition;
use super::charts::BranchFrames;
use super::checkpoint_flight::{Durability, InFlight};
use super::control::{BranchSwap, ConsumerSwap, Offer, carry_state};
use super::counters::Counters;
use super::dead_letters::DeadLetter;
use super::frame_clock::FrameClock;
use super::record_gate::RecordGate;
use super::refusals::RefusalWatches;
use super::tasks::{BranchTask, Task, Tasks, build};
use super::view;
use crate::chart_output::{ChartWriter, Drawing};
use crate::config::StageSpec;
use crate::plugin_host::{
    Batch, ChartRenderer, FfiField, Header, InputBuffer, PluginBytes, RecordView, Records, RejectView, StageInstance,
};
use crate::state::TaskCheckpoint;
use crate::throttle::Throttle;
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
    /// Each branch's entry in the shared list, in order (kept with the
    /// tasks: the list is replaced only once a reload is in place).
    pub charts: Vec<BranchFrames>,
    pub frames: FrameClock,
    /// How often the tasks' state is checkpointed with their positions.
    pub checkpoint_every: Duration,
    /// The periodic checkpoint the transport is still saving.
    pub checkpoint_in_flight: Option<InFlight>,
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
    passed: ByPartition,
    /// The passed records of one partition, laid out for the first transform.
    input: InputBuffer,
    /// The members the gate found in the batch's records, and where each
    /// record's are (by batch index): handed to the stages with the
    /// records, so they need not read the bytes again.
    members: Vec<FfiField>,
    members_of: Vec<Option<Range<usize>>>,
}

impl Consumer {
    /// The chart writers taken together: idle when every branch's is, and
    /// a frame costs what all branches' frames cost.
    fn drawing(&self) -> Drawing {
        let each = self.writers.iter().map(ChartWriter::drawing);
        let none = Drawing { idle: true, last_draw: Duration::ZERO, rested: Duration::MAX };
        each.fold(none, |all, one| Drawing {
            idle: all.idle && one.idle,
            last_draw: all.last_draw + one.last_draw,
            rested: all.rested.min(one.rested),
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
            if !self.follow_checkpoint(shared) && checkpoint_at.elapsed() >= self.checkpoint_every {
                checkpoint_at = Instant::now();
                self.checkpoint(shared, |task| task.dirty, Durability::InBackground);
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
            self.checkpoint(shared, |_| true, Durability::Now);
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
    /// passes a record that is not kept somewhere. The tasks are clean
    /// from here; one saved in the background is dirty again if the
    /// transport fails to store it (`follow_checkpoint`).
    fn checkpoint(&mut self, shared: &Shared, which: impl Fn(&Task) -> bool, durability: Durability) {
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
        let saved = match durability {
            Durability::Now => self.reader.save_checkpoints(&checkpoints),
            Durability::InBackground => self.reader.send_checkpoints(&checkpoints),
        };
        if let Err(e) = saved {
            // The error may be the one in flight's: its partitions are saved again too.
            if durability == Durability::Now
                && let Some(in_flight) = self.checkpoint_in_flight.take()
            {
                self.mark_dirty(&in_flight.partitions, true);
            }
            return tracing::warn!(pipeline = %shared.name, "cannot save the checkpoint, retrying: {e}");
        }
        let partitions: Vec<i32> = checkpoints.iter().map(|c| c.partition).collect();
        self.mark_dirty(&partitions, false);
        match durability {
            // Waiting for this one waited for any earlier one too.
            Durability::Now => {
                self.checkpoint_in_flight = None;
                shared.checkpointed();
            }
            Durability::InBackground => self.checkpoint_in_flight = Some(InFlight::new(partitions)),
        }
    }

    /// Follows the checkpoint being saved in the background: counted once
    /// durable; if the transport could not store it, its partitions are
    /// dirty again, so the next checkpoint retries. True while it is still
    /// in flight.
    fn follow_checkpoint(&mut self, shared: &Shared) -> bool {
        let Some(in_flight) = &mut self.checkpoint_in_flight else { return false };
        let Some(outcome) = self.reader.checkpoints_saved() else {
            if in_flight.just_late() {
                tracing::warn!(pipeline = %shared.name, "the transport has not confirmed the last checkpoint yet; the next waits for it");
            }
            return true;
        };
        let partitions = std::mem::take(&mut in_flight.partitions);
        self.checkpoint_in_flight = None;
        match outcome {
            Ok(()) => shared.checkpointed(),
            Err(e) => {
                self.mark_dirty(&partitions, true);
                tracing::warn!(pipeline = %shared.name, "cannot save the checkpoint, retrying: {e}");
            }
        }
        false
    }

    fn mark_dirty(&mut self, partitions: &[i32], dirty: bool) {
        for (partition, task) in self.tasks.iter_mut() {
            if partitions.contains(&partition) {
                task.dirty = dirty;
            }
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
        let Buffers { batch, passed: passed_by_partition, input: input_buffer, members, members_of } = buffers;
        let batch = &*batch;
        let reader = &*self.reader;
        passed_by_partition.clear();
        members.clear();
        members_of.clear();
        let mut bytes = 0;
        for i in 0..batch.len() {
            let passed = passed_by_partition.group(batch.position(i).partition());
            let first = members.len();
            let payload = batch.payload(i);
            bytes += payload.len();
            let verdict = match batch.refusal(i) {
                Some(reason) => Err(reason.to_string()),
                None => self.gate.check(payload, members),
            };
            members_of.push(matches!(verdict, Ok(true)).then(|| first..members.len()));
            match verdict {
                Ok(_) => passed.push(i),
                Err(reason) => shared
                    .dead_letter(DeadLetter::new("transport", "check", &reason, payload).from_batch(batch, i, reader)),
            }
        }
        Counters::add(&shared.counters.consumed, batch.len());
        Counters::add(&shared.counters.consumed_bytes, bytes);
        for (partition, passed) in passed_by_partition.in_order() {
            let partition = *partition;
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
            let mut fill = input_buffer.fill();
            for &i in passed {
                let view = RecordView { fields: members_of[i].clone().map(|r| &members[r]), ..batch.view(i) };
                fill.push(view, batch.headers(i).map(|(name, value)| Header { name, value }));
            }
            let input = Input { records: fill.finish(), passed, batch, reader };
            let mut refused = BTreeSet::new();
            // Every branch gets every record; one branch's refusal is its own.
            for (entry, branch) in self.charts.iter().zip(&mut task.branches) {
                let its = process_branch(branch, entry, &input, shared);
                Counters::add(&entry.figures.records_out, passed.len().saturating_sub(its.len()));
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
        parts.extend(peers.iter().map(|p| {
            let saved = p.branch(name, named);
            (saved.transforms.last().copied(), saved.chart)
        }));
        let mut chart = view::merged_chart(&self.tasks, branch, &parts)?;
        let frame = chart.frame().map_err(|e| e.to_string())?;
        Ok((frame, chart.renderer()))
    }

    /// The input has ended (or the pipeline stops): every transform's
    /// held-back output goes to its chart.
    fn flush_transforms(&mut self, shared: &Shared) {
        for (_, task) in self.tasks.iter_mut() {
            for (entry, branch) in self.charts.iter().zip(&mut task.branches) {
                if flush_transform(branch, entry, shared) {
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
        self.checkpoint(shared, |_| true, Durability::Now);
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
        let result = self.swap_stages(branches);
        if result == Ok(true) {
            // Saved at once: a restart must not restore the state of before
            // (nor miss a branch added, nor find one removed).
            self.checkpoint(shared, |_| true, Durability::Now);
        }
        let result = result.map(drop);
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
        self.checkpoint(shared, |_| true, Durability::Now);
        if let Err(e) = self.reader.close() {
            tracing::warn!(pipeline = %shared.name, "cannot close the old transport: {e}");
        }
        self.reader = reader;
        buffers.batch.clear();
    }

    /// Puts the edited branches in place in every task, in the file's new
    /// order: new stages carry their predecessors' state, added branches
    /// start empty, removed ones go with their state and chart writer. All
    /// or nothing. Says whether the state changed shape (a checkpoint must
    /// follow at once).
    fn swap_stages(&mut self, mut branches: Vec<BranchSwap>) -> Result<bool, String> {
        if branches.is_empty() {
            return Ok(false);
        }
        let running = self.writers.len();
        if branches.iter().any(|b| b.was.map_or(b.writer.is_none(), |i| i >= running)) {
            return Err("a reload named a branch that is not running, or a new branch without its chart".into());
        }
        // Everything is built, for every task, before anything changes.
        type Built = Vec<(Vec<Option<StageInstance>>, Option<StageInstance>)>;
        let mut built: BTreeMap<i32, Built> = BTreeMap::new();
        for (partition, task) in self.tasks.iter_mut() {
            let mut parts = Vec::new();
            for swap in &branches {
                let mut old = swap.was.map(|i| &mut task.branches[i]);
                let mut transforms = Vec::new();
                for (place, spec) in swap.transforms.iter().enumerate() {
                    let before = old.as_mut().and_then(|o| o.transforms.get_mut(place));
                    let reset = swap.reset_transforms[place];
                    transforms.push(spec.as_ref().map(|s| successor(before, s, reset)).transpose()?);
                }
                let before = old.map(|o| &mut o.chart);
                let chart = swap.chart.as_ref().map(|s| successor(before, s, swap.reset_chart)).transpose()?;
                parts.push((transforms, chart));
            }
            built.insert(partition, parts);
        }
        let reshaped = branches.len() != running
            || branches.iter().enumerate().any(|(i, b)| b.was != Some(i))
            || branches.iter().any(BranchSwap::resets);
        for (partition, task) in self.tasks.iter_mut() {
            let mut old: Vec<Option<BranchTask>> = std::mem::take(&mut task.branches).into_iter().map(Some).collect();
            for (swap, (transforms, chart)) in branches.iter().zip(built.remove(&partition).unwrap_or_default()) {
                let previous = swap.was.and_then(|i| old[i].take());
                let (mut kept, mut kept_chart) = match previous {
                    Some(p) => (p.transforms.into_iter().map(Some).collect(), Some(p.chart)),
                    None => (Vec::new(), None),
                };
                // `None` keeps the running stage, which is then there.
                let mut keep = |place: usize| kept.get_mut(place).and_then(Option::take).expect("a kept stage runs");
                let transforms = transforms.into_iter().enumerate().map(|(i, t)| t.unwrap_or_else(|| keep(i)));
                let transforms = transforms.collect();
                let chart = chart.unwrap_or_else(|| kept_chart.take().expect("a kept chart runs"));
                task.branches.push(BranchTask { transforms, chart });
            }
            task.dirty |= reshaped;
        }
        // Replaced writers, and those of removed branches, finish their
        // threads as they are dropped here.
        let mut writers: Vec<Option<ChartWriter>> = std::mem::take(&mut self.writers).into_iter().map(Some).collect();
        for swap in &mut branches {
            let writer = swap.writer.take().or_else(|| swap.was.and_then(|i| writers[i].take()));
            self.writers.push(writer.expect("checked above"));
        }
        self.charts = branches.iter().map(|b| b.entry.clone()).collect();
        self.tasks.branches = branches.into_iter().map(|b| b.spec).collect();
        Ok(reshaped)
    }
}

/// A stage built from `spec` with `old`'s state carried over (unless
/// `reset`, or there is no `old`: a stage the edit adds).
fn successor(old: Option<&mut StageInstance>, spec: &StageSpec, reset: bool) -> Result<StageInstance, String> {
    let mut new = build(spec)?;
    if let Some(old) = old {
        carry_state(old, &mut new, reset)
            .map_err(|e| format!("the {}'s state could not be carried over: {e}", spec.label()))?;
    }
    Ok(new)
}

/// One batch of a partition's records, as every branch sees it.
struct Input<'a> {
    records: Records<'a>,
    /// The batch indices of `records`.
    passed: &'a [usize],
    batch: &'a RecordBatch,
    reader: &'a dyn TransportReader,
}

/// One partition's records through a branch's chain of transforms and
/// into its chart; answers the indices (into `records`) of those the first
/// transform refused.
fn process_branch(task: &mut BranchTask, branch: &BranchFrames, input: &Input<'_>, shared: &Shared) -> BTreeSet<usize> {
    let Input { records, passed, batch, reader } = *input;
    let len = task.transforms.len();
    let label = transform_label(0, len);
    let (first, rest) = task.transforms.split_first_mut().expect("a branch has a transform");
    let transform_type = first.type_name().to_string();
    let mut refused = BTreeSet::new();
    match first.process(records) {
        Ok(out) => {
            for reject in out.rejects.iter() {
                // Rejects of no input record (raw bytes) count as one
                // refused record between them.
                refused.insert(reject.input_index.unwrap_or(usize::MAX));
                let letter =
                    DeadLetter::new(&label, &transform_type, reason_of(&reject), &[]).panicked(reject.panicked);
                let letter = match reject.input_index.and_then(|i| passed.get(i)) {
                    None => letter,
                    Some(&at) => DeadLetter { payload: batch.payload(at), ..letter }.from_batch(batch, at, reader),
                };
                shared.branch_dead_letter(branch, letter);
            }
            feed_on((rest, 1, len), &mut task.chart, branch, out, shared);
        }
        Err(e) => {
            // The whole batch failed (its end-of-batch step erred or panicked):
            // every record goes to the dead letters with the reason.
            tracing::error!(pipeline = %shared.name, branch = branch.name.as_deref(), "{label} {transform_type} failed on a batch: {e}");
            refused.extend(0..passed.len());
            for &i in passed {
                let letter = DeadLetter::new(&label, &transform_type, &e.message, batch.payload(i));
                shared.branch_dead_letter(branch, letter.panicked(e.panicked).from_batch(batch, i, reader));
            }
        }
    }
    refused
}

/// How dead letters and logs name the transform at `place` of a chain of `len`.
fn transform_label(place: usize, len: usize) -> String {
    crate::config::stage_label("transform", (len > 1).then_some(place))
}

/// Flushes each transform's held-back output (a partial batch) on down the
/// chain into the chart, first to last (what the first flushes reaches
/// the second before that one is flushed); says whether the chart got anything.
fn flush_transform(task: &mut BranchTask, branch: &BranchFrames, shared: &Shared) -> bool {
    let mut fed = false;
    let len = task.transforms.len();
    for place in 0..len {
        let (done, rest) = task.transforms.split_at_mut(place + 1);
        let transform = &mut done[place];
        let type_name = transform.type_name().to_string();
        match transform.flush() {
            Ok(out) => fed |= feed_on((rest, place + 1, len), &mut task.chart, branch, out, shared),
            Err(e) => {
                let label = transform_label(place, len);
                tracing::error!(pipeline = %shared.name, branch = branch.name.as_deref(), "{label} {type_name} failed to flush: {e}")
            }
        }
    }
    fed
}

/// Gives a transform's output to the transforms after it (`rest`, the
/// first of them at `place` of a chain of `len`), each feeding the next,
/// and the last's to the chart; says whether the chart was given anything.
fn feed_on(
    (rest, place, len): (&mut [StageInstance], usize, usize),
    chart: &mut StageInstance,
    branch: &BranchFrames,
    out: Batch<'_>,
    shared: &Shared,
) -> bool {
    match rest.split_first_mut() {
        None => feed_stage(chart, "chart", branch, out.records, shared).is_some(),
        Some((next, rest)) => match feed_stage(next, &transform_label(place, len), branch, out.records, shared) {
            Some(out) => feed_on((rest, place + 1, len), chart, branch, out, shared),
            None => false,
        },
    }
}

/// Gives records another stage made to `stage` (the next transform of a
/// chain, or the chart); its rejects are dead-lettered under `label`. Its
/// output, unless there was nothing to give or the whole batch failed.
fn feed_stage<'s>(
    stage: &'s mut StageInstance,
    label: &str,
    branch: &BranchFrames,
    records: Records<'_>,
    shared: &Shared,
) -> Option<Batch<'s>> {
    if records.is_empty() {
        return None;
    }
    let type_name = stage.type_name().to_string();
    match stage.process(records) {
        Ok(out) => {
            for reject in out.rejects.iter() {
                let payload = reject.input_index.and_then(|i| records.get(i)).map_or(&[][..], |r| r.payload);
                let letter = DeadLetter::new(label, &type_name, reason_of(&reject), payload);
                shared.branch_dead_letter(branch, letter.panicked(reject.panicked));
            }
            Some(out)
        }
        Err(e) => {
            tracing::error!(pipeline = %shared.name, branch = branch.name.as_deref(), "{label} {type_name} failed on a batch: {e}");
            for record in records.iter() {
                let letter = DeadLetter::new(label, &type_name, &e.message, record.payload);
                shared.branch_dead_letter(branch, letter.panicked(e.panicked));
            }
            None
        }
    }
}

/// A reject's reason as text.
fn reason_of<'a>(reject: &RejectView<'a>) -> &'a str {
    std::str::from_utf8(reject.reason).unwrap_or("(reason is not UTF-8)")
}
