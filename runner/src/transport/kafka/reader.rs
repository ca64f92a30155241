//! The consumer end: a group member that commits a record's offset only
//! after the transform took it: every second while running, on every
//! revocation and on shutdown, so a clean stop and restart loses nothing and
//! counts nothing twice. (Offsets are committed by hand rather than stored
//! for librdkafka's auto-commit: storing them per batch slowed consumption
//! several times over on these machines.)
//!
//! State and position live together in checkpoints (see `changelog.rs`):
//! a partition assigned to this member is restored from its latest
//! checkpoint and read from the position that checkpoint stands for; the
//! group's committed offsets are kept for lag tools only. So neither a
//! crash, nor a partition moving to another member, nor one lost in an
//! outage and given back, loses or repeats a record in the chart.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::statistics::Statistics;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use super::changelog::Changelog;
use super::client::{
    EMBEDDED_RECORD_FETCH_WAIT_MS, ErrorReporter, RECORD_FETCH_WAIT_MS, base_config, bootstrap, close_consumer,
    log_librdkafka, set_default,
};
use super::read_ahead::{ReadAhead, ReadProgress};
use super::topic::{self, TopicCreator, partition_count};
use crate::config::{Brokers, KafkaTransport, StartAt};
use crate::state::TaskCheckpoint;

/// How often a running consumer commits what it processed (for lag tools).
const COMMIT_EVERY: Duration = Duration::from_secs(1);
/// How long an assignment waits for the changelog before giving up.
const RESTORE_LIMIT: Duration = Duration::from_secs(15);
/// How long a partition's end, asked for `caught_up`, is trusted.
const ENDS_FRESH_FOR: Duration = Duration::from_millis(500);
use crate::transport::{EndMark, Lag, Position, RecordBatch, TransportError, TransportReader, TransportState};

/// Shared with the rebalance callback, which commits the held offsets on
/// revocation and resumes reassigned partitions after what was processed.
pub(super) struct ReaderContext {
    topic: String,
    pub(super) errors: ErrorReporter,
    /// Records behind the partitions' ends, from librdkafka's statistics
    /// (-1 until known).
    lag: AtomicI64,
    offsets: Mutex<Offsets>,
    assigned: Mutex<BTreeSet<i32>>,
    start: StartAt,
    changelog: Mutex<Changelog>,
    /// Checkpoints of newly assigned partitions, for the consumer to restore.
    pub(super) restored: Mutex<Vec<TaskCheckpoint>>,
    pub(super) revoked: Mutex<Vec<i32>>,
    /// A rebalance happened while a batch was being filled: it ends the
    /// batch, so a batch never mixes records from before and after one.
    pub(super) rebalanced: AtomicBool,
    /// The group gave this member an assignment (maybe empty): leaving
    /// before that would leave the group mid-formation, which tansu cannot
    /// recover from (measured-facts.md).
    joined: AtomicBool,
    /// Why an assignment could not be restored (the pipeline stops).
    failure: Mutex<Option<String>>,
}

/// Next offsets after what the transform took, per partition.
#[derive(Default)]
struct Offsets {
    /// Partitions held now, maybe not yet committed to the group.
    held: BTreeMap<i32, i64>,
    /// Where each partition this member took or restored resumes.
    processed: BTreeMap<i32, i64>,
}

impl ReaderContext {
    /// Commits what was processed of the revoked partitions (for lag
    /// tools) and tells the consumer, which checkpoints their state.
    /// Partitions lost (the group gave them away while this member could
    /// not answer) are not committed: they may be someone else's now.
    fn hand_over(&self, consumer: &BaseConsumer<Self>, revoked: &TopicPartitionList) {
        let revoked: Vec<i32> = revoked.elements().iter().map(|p| p.partition()).collect();
        let lost = consumer.assignment_lost();
        let mut offsets = self.offsets.lock().expect("offsets poisoned");
        let tpl = offsets_list(&self.topic, offsets.held.iter().filter(|(p, _)| revoked.contains(p)));
        if tpl.count() > 0
            && !lost
            && let Err(e) = consumer.commit(&tpl, CommitMode::Sync)
        {
            tracing::warn!(topic = %self.topic, "cannot commit offsets of revoked partitions: {e}");
        }
        offsets.held.retain(|p, _| !revoked.contains(p));
        let mut assigned = self.assigned.lock().expect("assignment poisoned");
        assigned.retain(|p| !revoked.contains(p));
        self.revoked.lock().expect("revoked poisoned").extend(&revoked);
        self.rebalanced.store(true, Ordering::Relaxed);
        let how = if lost { "lost (the group's session timed out)" } else { "revoked" };
        tracing::info!(topic = %self.topic, "partitions {how}: {revoked:?}; holding {:?}", assigned.iter().collect::<Vec<_>>());
    }

    /// Starts each assigned partition at its latest checkpoint (handed to
    /// the consumer to restore), or, with none, where `start` says: the
    /// group's committed offset is not used, since no state goes with it.
    fn restore(&self, assigned: &TopicPartitionList) {
        self.rebalanced.store(true, Ordering::Relaxed);
        self.joined.store(true, Ordering::Relaxed);
        let mut changelog = self.changelog.lock().expect("changelog poisoned");
        changelog.land_own();
        let started = Instant::now();
        while let Err(e) = changelog.catch_up(Duration::from_secs(10)) {
            if started.elapsed() > RESTORE_LIMIT {
                let why = format!("cannot restore partitions of topic {}: {e}", self.topic);
                *self.failure.lock().expect("failure poisoned") = Some(why);
                return;
            }
            tracing::warn!(topic = %self.topic, "waiting for the changelog to restore assigned partitions: {e}");
            std::thread::sleep(Duration::from_secs(1));
        }
        let mut offsets = self.offsets.lock().expect("offsets poisoned");
        let mut restored = self.restored.lock().expect("restored poisoned");
        for mut partition in assigned.elements() {
            let id = partition.partition();
            let offset = match changelog.task(id) {
                Some(checkpoint) => {
                    offsets.processed.insert(id, checkpoint.next);
                    restored.push(checkpoint.clone());
                    Offset::Offset(checkpoint.next)
                }
                None => {
                    offsets.processed.remove(&id);
                    if self.start == StartAt::End { Offset::End } else { Offset::Beginning }
                }
            };
            if let Err(e) = partition.set_offset(offset) {
                tracing::warn!(topic = %self.topic, partition = id, "cannot set where to start reading: {e}");
            }
        }
    }
}

impl ClientContext for ReaderContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        log_librdkafka(level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.errors.report(&error, reason);
    }

    fn stats(&self, statistics: Statistics) {
        let Some(topic) = statistics.topics.get(&self.topic) else { return };
        let lags = topic.partitions.iter().filter(|(p, _)| **p >= 0).map(|(_, p)| p.consumer_lag).filter(|l| *l >= 0);
        self.lag.store(lags.sum(), Ordering::Relaxed);
    }
}

impl ConsumerContext for ReaderContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(partitions) => self.hand_over(consumer, partitions),
            Rebalance::Assign(partitions) => self.restore(partitions),
            Rebalance::Error(_) => {}
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(partitions) => {
                let new: Vec<i32> = partitions.elements().iter().map(|p| p.partition()).collect();
                let mut assigned = self.assigned.lock().expect("assignment poisoned");
                assigned.extend(&new);
                tracing::info!(topic = %self.topic, "partitions assigned: {new:?}; holding {:?}", assigned.iter().collect::<Vec<_>>());
            }
            Rebalance::Error(e) => tracing::warn!(topic = %self.topic, "consumer group rebalance failed: {e}"),
            Rebalance::Revoke(_) => {}
        }
    }
}

impl Drop for KafkaReader {
    fn drop(&mut self) {
        // The reading thread polls the consumer: it stops first.
        self.ahead = None;
        close_consumer(&self.consumer);
    }
}

fn offsets_list<'a>(topic: &str, offsets: impl Iterator<Item = (&'a i32, &'a i64)>) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::new();
    for (partition, offset) in offsets {
        let _ = tpl.add_partition_offset(topic, *partition, Offset::Offset(*offset));
    }
    tpl
}

pub struct KafkaReader {
    topic: String,
    group: String,
    /// The topic is created (if missing) and subscribed to on the first read,
    /// retried while the broker is unreachable.
    creator: TopicCreator,
    subscribed: bool,
    /// Where the brokers are, and why the last try to subscribe failed:
    /// until it succeeds the reader has not reached the broker, whatever
    /// librdkafka has (not yet) reported.
    bootstrap: String,
    subscribe_error: Option<String>,
    /// Polls the consumer on a thread of its own once subscribed.
    ahead: Option<ReadAhead>,
    /// Shared with `ahead`'s thread; librdkafka's clients are thread-safe.
    consumer: Arc<BaseConsumer<ReaderContext>>,
    /// The last read's next offsets, and partitions at their end.
    read: ReadProgress,
    /// Partitions revoked, and checkpoints restored, by the rebalances
    /// that ended the batches read so far.
    revoked: Vec<i32>,
    restored: Vec<TaskCheckpoint>,
    last_commit: Instant,
    /// Takes no partitions: follows the others' checkpoints (`--role view`).
    view: bool,
    /// Each partition's end, when last asked.
    ends: Option<(Instant, BTreeMap<i32, i64>)>,
    /// `partitions = 1`: the pipeline needs its records in order.
    ordered: bool,
    /// Set at subscription when an ordered pipeline's topic has more partitions.
    order_warning: Option<String>,
    /// `caught_up` found the topic empty and said so.
    said_empty: bool,
}

impl KafkaReader {
    /// A reader that takes no partitions and follows the checkpoints of the
    /// group's consumers, for a chart of the whole topic.
    pub fn open_view(spec: &KafkaTransport) -> Result<Self, TransportError> {
        let mut reader = Self::open(spec)?;
        reader.view = true;
        Ok(reader)
    }

    pub fn open(spec: &KafkaTransport) -> Result<Self, TransportError> {
        let bootstrap = bootstrap(spec)?;
        let config = consumer_config(spec, &bootstrap);
        let context = ReaderContext {
            topic: spec.topic.clone(),
            errors: ErrorReporter::new(format!("consumer of topic {} at {bootstrap}", spec.topic)),
            lag: AtomicI64::new(-1),
            offsets: Mutex::new(Offsets::default()),
            assigned: Mutex::new(BTreeSet::new()),
            start: spec.start,
            changelog: Mutex::new(Changelog::open(spec, &bootstrap)?),
            restored: Mutex::new(Vec::new()),
            revoked: Mutex::new(Vec::new()),
            rebalanced: AtomicBool::new(false),
            joined: AtomicBool::new(false),
            failure: Mutex::new(None),
        };
        let consumer: BaseConsumer<ReaderContext> = config
            .create_with_context(context)
            .map_err(|e| TransportError(format!("cannot create a Kafka consumer for {bootstrap}: {e}")))?;
        Ok(KafkaReader {
            topic: spec.topic.clone(),
            creator: TopicCreator::new(spec, &bootstrap),
            group: spec.group.clone(),
            subscribed: false,
            bootstrap,
            subscribe_error: None,
            ahead: None,
            consumer: Arc::new(consumer),
            read: ReadProgress::default(),
            revoked: Vec::new(),
            restored: Vec::new(),
            last_commit: Instant::now(),
            view: false,
            ends: None,
            ordered: spec.partitions == 1,
            order_warning: None,
            said_empty: false,
        })
    }

    /// Creates the topic if missing and joins the group: the first thing
    /// that needs the broker to answer.
    fn subscribe(&mut self) -> Result<(), TransportError> {
        self.creator.ensure()?;
        if self.ordered {
            self.order_warning = self.check_order()?;
        }
        self.consumer
            .subscribe(&[&self.topic])
            .map_err(|e| TransportError(format!("cannot subscribe to topic {}: {e}", self.topic)))?;
        tracing::info!(topic = %self.topic, group = %self.group, "consuming from Kafka");
        self.subscribed = true;
        Ok(())
    }

    /// Warns (loudly, and on the dashboard) when the pipeline asks for one
    /// partition, as order matters to it, but the topic has more (made by
    /// another client, say): Kafka orders records only within a partition.
    fn check_order(&self) -> Result<Option<String>, TransportError> {
        let partitions = partition_count(self.consumer.client(), &self.topic)?;
        if partitions <= 1 {
            return Ok(None);
        }
        let warning = format!(
            "topic {topic} has {partitions} partitions, but this pipeline's transport sets partitions = 1: \
             its records must stay in order, and Kafka keeps order only within a partition, so they may \
             reach the transform out of order. Recreate topic {topic} with 1 partition, or use a new topic \
             (buzz creates it with 1); if only each key's order matters, key the records (transport `key`) \
             and set partitions = {partitions}",
            topic = self.topic
        );
        tracing::warn!(topic = %self.topic, partitions, "{warning}");
        Ok(Some(warning))
    }
}

impl TransportReader for KafkaReader {
    fn read(&mut self, batch: &mut RecordBatch, max: usize, wait: Duration) -> Result<(), TransportError> {
        batch.clear();
        self.read.pending.clear();
        if self.view {
            std::thread::sleep(wait.min(Duration::from_millis(50)));
            return Ok(());
        }
        if !self.subscribed {
            let subscribed = self.subscribe();
            self.subscribe_error = subscribed.as_ref().err().map(ToString::to_string);
            subscribed?;
        }
        // Batches of the first read's `max`: the consumer always asks the same.
        if self.ahead.is_none() {
            let name = format!("{}-fetch", self.topic);
            let ahead = ReadAhead::start(self.consumer.clone(), max, name)
                .map_err(|e| TransportError(format!("cannot start reading topic {}: {e}", self.topic)))?;
            self.ahead = Some(ahead);
        }
        let ahead = self.ahead.as_mut().expect("started above");
        match ahead.next(wait, std::mem::take(batch)) {
            Ok(filled) => {
                *batch = filled.batch;
                self.read = filled.progress;
                self.revoked.extend(filled.revoked);
                self.restored.extend(filled.restored);
            }
            Err(unused) => *batch = unused,
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<(), TransportError> {
        let pending = std::mem::take(&mut self.read.pending);
        if pending.is_empty() {
            return Ok(());
        }
        let mut offsets = self.consumer.context().offsets.lock().expect("offsets poisoned");
        offsets.held.extend(pending.iter());
        offsets.processed.extend(pending);
        if self.last_commit.elapsed() >= COMMIT_EVERY {
            self.last_commit = Instant::now();
            let tpl = offsets_list(&self.topic, offsets.held.iter());
            self.consumer
                .commit(&tpl, CommitMode::Async)
                .map_err(|e| TransportError(format!("cannot commit offsets: {e}")))?;
        }
        Ok(())
    }

    fn reached(&self, mark: &EndMark) -> bool {
        match mark {
            EndMark::Kafka(ends) => {
                let offsets = self.consumer.context().offsets.lock().expect("offsets poisoned");
                ends.iter().all(|(p, end)| *end == 0 || offsets.processed.get(p).is_some_and(|done| done >= end))
            }
            EndMark::File(_) | EndMark::Sequence(_) => false,
        }
    }

    /// Every partition of the topic is charted to its end: this member's
    /// own read to their ends, the others checkpointed at theirs. An empty
    /// topic is not caught up with: a consumer started before its producer
    /// waits for the records.
    fn caught_up(&mut self) -> bool {
        if !self.view && !self.consumer.context().joined.load(Ordering::Relaxed) {
            return false;
        }
        let assigned = self.consumer.context().assigned.lock().expect("assignment poisoned").clone();
        if !assigned.iter().all(|p| self.read.at_end.contains_key(p)) || !self.read.pending.is_empty() {
            return false;
        }
        let Some((asked, ends)) = self.partition_ends() else { return false };
        if ends.values().all(|end| *end == 0) {
            // Nothing was ever written: the producer has not started yet.
            self.say_waiting_once();
            return false;
        }
        // An end reached before records were added is stale: the position
        // must be at the end asked for, or the end reached after asking.
        // A copy: the reading thread's rebalance callbacks take the
        // changelog's lock and then the offsets', so this takes one at a time.
        let processed = self.consumer.context().offsets.lock().expect("offsets poisoned").processed.clone();
        let read_to_end =
            |p: i32, end: i64| processed.get(&p).is_some_and(|next| *next >= end) || self.read.at_end[&p] >= asked;
        let changelog = self.consumer.context().changelog.lock().expect("changelog poisoned");
        ends.iter().all(|(p, end)| {
            *end == 0
                || if assigned.contains(p) {
                    read_to_end(*p, *end)
                } else {
                    changelog.task(*p).is_some_and(|c| c.next >= *end)
                }
        })
    }

    fn close(&mut self) -> Result<(), TransportError> {
        // Nothing is read after this; what was read ahead is not taken.
        self.ahead = None;
        let held = self.consumer.context().offsets.lock().expect("offsets poisoned").held.clone();
        if held.is_empty() {
            return Ok(());
        }
        let tpl = offsets_list(&self.topic, held.iter());
        self.consumer.commit(&tpl, CommitMode::Sync).map_err(|e| TransportError(format!("cannot commit offsets: {e}")))
    }

    fn state(&self) -> TransportState {
        let error = self.consumer.context().errors.last_error();
        if !self.subscribed && !self.view {
            // Not "connected" before the broker has answered once.
            return match error.or_else(|| self.subscribe_error.clone()) {
                Some(error) => TransportState::Retrying(error),
                None => TransportState::Waiting(format!("connecting to Kafka at {}", self.bootstrap)),
            };
        }
        match error {
            Some(error) => TransportState::Retrying(error),
            None => TransportState::Connected,
        }
    }

    fn lag(&self) -> Option<Lag> {
        let lag = self.consumer.context().lag.load(Ordering::Relaxed);
        u64::try_from(lag).ok().map(Lag::Records)
    }

    fn warning(&self) -> Option<String> {
        self.order_warning.clone()
    }

    fn describe_position(&self, position: Position) -> serde_json::Value {
        match position {
            Position::Kafka { partition, offset } => {
                serde_json::json!({ "topic": self.topic, "partition": partition, "offset": offset })
            }
            other => serde_json::json!(format!("{other:?}")),
        }
    }

    fn position(&self, partition: i32) -> Option<i64> {
        self.consumer.context().offsets.lock().expect("offsets poisoned").processed.get(&partition).copied()
    }

    fn take_restored(&mut self) -> Vec<TaskCheckpoint> {
        std::mem::take(&mut self.restored)
    }

    fn take_revoked(&mut self) -> Vec<i32> {
        std::mem::take(&mut self.revoked)
    }

    fn failure(&self) -> Option<String> {
        self.consumer.context().failure.lock().expect("failure poisoned").clone()
    }

    fn keeps_checkpoints(&self) -> bool {
        !self.view
    }

    fn save_checkpoints(&mut self, checkpoints: &[TaskCheckpoint]) -> Result<(), TransportError> {
        self.consumer.context().changelog.lock().expect("changelog poisoned").save_tasks(checkpoints)
    }

    fn send_checkpoints(&mut self, checkpoints: &[TaskCheckpoint]) -> Result<(), TransportError> {
        self.consumer.context().changelog.lock().expect("changelog poisoned").send_tasks(checkpoints)
    }

    fn checkpoints_saved(&mut self) -> Option<Result<(), TransportError>> {
        self.consumer.context().changelog.lock().expect("changelog poisoned").delivered()
    }

    fn poll_peers(&mut self) -> bool {
        self.consumer.context().changelog.lock().expect("changelog poisoned").poll()
    }

    fn peer_checkpoints(&self) -> Vec<TaskCheckpoint> {
        // One lock at a time, as in `caught_up`.
        let assigned = self.consumer.context().assigned.lock().expect("assignment poisoned").clone();
        let changelog = self.consumer.context().changelog.lock().expect("changelog poisoned");
        changelog.tasks().filter(|c| !assigned.contains(&c.partition)).cloned().collect()
    }
}

impl KafkaReader {
    /// Says once why a consumer told to exit when done keeps waiting.
    fn say_waiting_once(&mut self) {
        if !std::mem::replace(&mut self.said_empty, true) {
            tracing::info!(topic = %self.topic, "topic {} is empty: waiting for its first record", self.topic);
        }
    }

    /// Each partition's end offset and when it was asked for, asked of
    /// the broker at most every `ENDS_FRESH_FOR`.
    fn partition_ends(&mut self) -> Option<(Instant, BTreeMap<i32, i64>)> {
        if let Some((at, _)) = &self.ends
            && at.elapsed() < ENDS_FRESH_FOR
        {
            return self.ends.clone();
        }
        let asked = Instant::now();
        let ends = topic::partition_ends(self.consumer.client(), &self.topic).ok()?;
        self.ends = Some((asked, ends));
        self.ends.clone()
    }
}

/// The consumer's settings: the transport's, and buzz's defaults where the
/// user's `properties` do not say otherwise.
pub(super) fn consumer_config(spec: &KafkaTransport, bootstrap: &str) -> ClientConfig {
    let mut config = base_config(spec, bootstrap);
    config.set("group.id", &spec.group);
    // Offsets are committed by hand, after the transform took the records.
    set_default(&mut config, spec, "enable.auto.commit", "false");
    set_default(&mut config, spec, "enable.partition.eof", "true");
    // Statistics carry the consumer lag the dashboard shows.
    set_default(&mut config, spec, "statistics.interval.ms", "1000");
    // When its local queue is full (queued.min.messages), librdkafka
    // stops fetching for this long: the default 1 s idles a consumer
    // that is only slightly slower than the fetcher (measured: 140k
    // rec/s with it, 700k+ without).
    set_default(&mut config, spec, "fetch.queue.backoff.ms", "10");
    // How many records librdkafka keeps fetched ahead (default 100,000).
    // Measured on the smoker pipeline, 10 M records on the embedded
    // broker: 20,000 runs as fast (14.5 s) with 10 MB less peak memory;
    // 5,000 was 25% slower, 1,000 three times slower.
    set_default(&mut config, spec, "queued.min.messages", "20000");
    let fetch_wait =
        if spec.brokers == Brokers::Embedded { EMBEDDED_RECORD_FETCH_WAIT_MS } else { RECORD_FETCH_WAIT_MS };
    set_default(&mut config, spec, "fetch.wait.max.ms", fetch_wait);
    set_default(&mut config, spec, "session.timeout.ms", &spec.session_timeout_ms.to_string());
    // A session too short for librdkafka's 3 s heartbeat expired between
    // heartbeats, and the group took every partition away each time
    // (measured: a lone consumer with a 1.5 s session rebalanced every
    // 1.5 s): such a session gets three heartbeats. Longer ones keep the
    // 3 s: with 2 s at the default 6 s session, a tansu group that lost a
    // member left its partitions unassigned (BENCHMARKS.md, section 7).
    if spec.session_timeout_ms < 6000 {
        let heartbeat = (spec.session_timeout_ms / 3).max(1);
        set_default(&mut config, spec, "heartbeat.interval.ms", &heartbeat.to_string());
    }
    set_default(&mut config, spec, "auto.offset.reset", if spec.start == StartAt::End { "latest" } else { "earliest" });
    config
}
