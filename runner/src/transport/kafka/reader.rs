//! The consumer end: a group member that commits a record's offset only
//! after the transform took it: every second while running, on every
//! revocation and on shutdown, so a clean stop and restart loses nothing and
//! counts nothing twice. (Offsets are committed by hand rather than stored
//! for librdkafka's auto-commit: storing them per batch slowed consumption
//! several times over on these machines.)
//!
//! A member that loses its partitions without handing them over (its session
//! expired while the broker was unreachable) and gets them back resumes
//! after what it processed itself, not at the older committed offset, as
//! stream engines that keep their own offsets do: an outage counts nothing
//! twice unless another member took the partition meanwhile.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message};
use rdkafka::statistics::Statistics;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList, TopicPartitionListElem};

use super::client::{ErrorReporter, base_config, bootstrap, log_librdkafka, set_default};
use super::topic::{TopicCreator, partition_count};
use crate::config::{Brokers, KafkaTransport, StartAt};

/// How often a running consumer commits what it processed.
const COMMIT_EVERY: Duration = Duration::from_secs(1);
use crate::transport::{EndMark, Position, RecordBatch, TransportError, TransportReader, TransportState};

/// Shared with the rebalance callback, which commits the held offsets on
/// revocation and resumes reassigned partitions after what was processed.
struct ReaderContext {
    topic: String,
    errors: ErrorReporter,
    /// Records behind the partitions' ends, from librdkafka's statistics
    /// (-1 until known).
    lag: AtomicI64,
    offsets: Mutex<Offsets>,
    assigned: Mutex<BTreeSet<i32>>,
}

/// Next offsets after what the transform took, per partition.
#[derive(Default)]
struct Offsets {
    /// Partitions held now, maybe not yet committed.
    held: BTreeMap<i32, i64>,
    /// Every partition this run processed, kept across revocations.
    processed: BTreeMap<i32, i64>,
}

impl ReaderContext {
    /// Commits exactly what was processed of the revoked partitions, so the
    /// next owner starts right after it.
    fn hand_over(&self, consumer: &BaseConsumer<Self>, revoked: &TopicPartitionList) {
        let revoked: Vec<i32> = revoked.elements().iter().map(|p| p.partition()).collect();
        let mut offsets = self.offsets.lock().expect("offsets poisoned");
        let tpl = offsets_list(&self.topic, offsets.held.iter().filter(|(p, _)| revoked.contains(p)));
        if tpl.count() > 0
            && let Err(e) = consumer.commit(&tpl, CommitMode::Sync)
        {
            tracing::warn!(topic = %self.topic, "cannot commit offsets of revoked partitions: {e}");
        }
        offsets.held.retain(|p, _| !revoked.contains(p));
        self.assigned.lock().expect("assignment poisoned").retain(|p| !revoked.contains(p));
        tracing::info!(topic = %self.topic, "partitions revoked: {revoked:?}");
    }

    /// Starts each reassigned partition after what this run processed of it
    /// when that is past the group's committed offset (a hand-over commit
    /// that failed); a partition new to this run starts at the commit.
    fn resume_after_processed(&self, consumer: &BaseConsumer<Self>, assigned: &TopicPartitionList) {
        let offsets = self.offsets.lock().expect("offsets poisoned");
        let known = |p: &TopicPartitionListElem<'_>| offsets.processed.get(&p.partition()).copied();
        if assigned.elements().iter().all(|p| known(p).is_none()) {
            return;
        }
        // Asked only on a reassignment; if the coordinator does not answer,
        // the commit stands (at-least-once either way).
        let committed = match consumer.committed_offsets(assigned.clone(), Duration::from_secs(5)) {
            Ok(committed) => committed,
            Err(e) => return tracing::warn!(topic = %self.topic, "cannot read committed offsets: {e}"),
        };
        for mut partition in assigned.elements() {
            let Some(processed) = known(&partition) else { continue };
            let commit = committed.find_partition(&self.topic, partition.partition()).map(|c| c.offset());
            let behind = match commit {
                Some(Offset::Offset(c)) => c < processed,
                _ => true,
            };
            if behind && partition.set_offset(Offset::Offset(processed)).is_ok() {
                tracing::info!(topic = %self.topic, partition = partition.partition(), "resuming after offset {} processed before the partition was lost", processed - 1);
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
            Rebalance::Assign(partitions) => self.resume_after_processed(consumer, partitions),
            Rebalance::Error(_) => {}
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(partitions) => {
                let mut assigned = self.assigned.lock().expect("assignment poisoned");
                assigned.extend(partitions.elements().iter().map(|p| p.partition()));
                tracing::info!(topic = %self.topic, "partitions assigned: {:?}", assigned.iter().collect::<Vec<_>>());
            }
            Rebalance::Error(e) => tracing::warn!(topic = %self.topic, "consumer group rebalance failed: {e}"),
            Rebalance::Revoke(_) => {}
        }
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
    consumer: BaseConsumer<ReaderContext>,
    /// The last read's next offsets, and partitions at their end.
    read: ReadProgress,
    last_commit: Instant,
    /// `partitions = 1`: the pipeline needs its records in order.
    ordered: bool,
    /// Set at subscription when an ordered pipeline's topic has more partitions.
    order_warning: Option<String>,
}

impl KafkaReader {
    pub fn open(spec: &KafkaTransport) -> Result<Self, TransportError> {
        let bootstrap = bootstrap(spec)?;
        let mut config = base_config(spec, &bootstrap);
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
        if spec.brokers == Brokers::Embedded {
            // The mock broker answers a fetch only after the full wait.
            set_default(&mut config, spec, "fetch.wait.max.ms", "10");
        }
        set_default(&mut config, spec, "session.timeout.ms", &spec.session_timeout_ms.to_string());
        set_default(
            &mut config,
            spec,
            "auto.offset.reset",
            if spec.start == StartAt::End { "latest" } else { "earliest" },
        );
        let context = ReaderContext {
            topic: spec.topic.clone(),
            errors: ErrorReporter::new(format!("consumer of topic {} at {bootstrap}", spec.topic)),
            lag: AtomicI64::new(-1),
            offsets: Mutex::new(Offsets::default()),
            assigned: Mutex::new(BTreeSet::new()),
        };
        let consumer: BaseConsumer<ReaderContext> = config
            .create_with_context(context)
            .map_err(|e| TransportError(format!("cannot create a Kafka consumer for {bootstrap}: {e}")))?;
        Ok(KafkaReader {
            topic: spec.topic.clone(),
            creator: TopicCreator::new(spec, &bootstrap),
            group: spec.group.clone(),
            subscribed: false,
            consumer,
            read: ReadProgress::default(),
            last_commit: Instant::now(),
            ordered: spec.partitions == 1,
            order_warning: None,
        })
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

/// Where a read has got to: next offsets of the batch, and partitions at their end.
#[derive(Default)]
struct ReadProgress {
    pending: BTreeMap<i32, i64>,
    at_end: BTreeSet<i32>,
}

impl ReadProgress {
    fn take(&mut self, message: &rdkafka::message::BorrowedMessage<'_>, batch: &mut RecordBatch) {
        let mut headers: Vec<(&[u8], Option<&[u8]>)> = Vec::new();
        if let Some(h) = message.headers() {
            headers.extend(h.iter().map(|h| (h.key.as_bytes(), h.value)));
        }
        let partition = message.partition();
        batch.push(
            message.payload().unwrap_or_default(),
            message.key(),
            message.timestamp().to_millis(),
            &headers,
            Position::Kafka { partition, offset: message.offset() },
        );
        self.pending.insert(partition, message.offset() + 1);
        self.at_end.remove(&partition);
    }
}

impl TransportReader for KafkaReader {
    fn read(&mut self, batch: &mut RecordBatch, max: usize, wait: Duration) -> Result<(), TransportError> {
        batch.clear();
        self.read.pending.clear();
        if !self.subscribed {
            self.creator.ensure()?;
            if self.ordered {
                self.order_warning = self.check_order()?;
            }
            self.consumer
                .subscribe(&[&self.topic])
                .map_err(|e| TransportError(format!("cannot subscribe to topic {}: {e}", self.topic)))?;
            tracing::info!(topic = %self.topic, group = %self.group, "consuming from Kafka");
            self.subscribed = true;
        }
        let deadline = Instant::now() + wait;
        while batch.len() < max {
            // Wait only for the first record; then take what is ready.
            let timeout =
                if batch.is_empty() { deadline.saturating_duration_since(Instant::now()) } else { Duration::ZERO };
            match self.consumer.poll(timeout) {
                None => break,
                Some(Ok(message)) => {
                    self.read.take(&message, batch);
                    // A record means the broker answers again; once per
                    // read, as clearing takes a lock.
                    if batch.len() == 1 {
                        self.consumer.context().errors.clear();
                    }
                }
                Some(Err(KafkaError::PartitionEOF(partition))) => {
                    self.read.at_end.insert(partition);
                }
                Some(Err(error)) => {
                    self.consumer.context().errors.report(&error, "consumer error");
                    break;
                }
            }
            if batch.is_empty() && Instant::now() >= deadline {
                break;
            }
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
                ends.iter().all(|(p, end)| offsets.processed.get(p).is_some_and(|done| done >= end))
            }
            EndMark::File(_) | EndMark::Sequence(_) => false,
        }
    }

    fn caught_up(&mut self) -> bool {
        let assigned = self.consumer.context().assigned.lock().expect("assignment poisoned");
        !assigned.is_empty() && assigned.iter().all(|p| self.read.at_end.contains(p)) && self.read.pending.is_empty()
    }

    fn close(&mut self) -> Result<(), TransportError> {
        let held = self.consumer.context().offsets.lock().expect("offsets poisoned").held.clone();
        if held.is_empty() {
            return Ok(());
        }
        let tpl = offsets_list(&self.topic, held.iter());
        self.consumer.commit(&tpl, CommitMode::Sync).map_err(|e| TransportError(format!("cannot commit offsets: {e}")))
    }

    fn state(&self) -> TransportState {
        match self.consumer.context().errors.last_error() {
            Some(error) => TransportState::Retrying(error),
            None => TransportState::Connected,
        }
    }

    fn lag(&self) -> Option<String> {
        let lag = self.consumer.context().lag.load(Ordering::Relaxed);
        (lag >= 0).then(|| format!("{lag} records"))
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
}
