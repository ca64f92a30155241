//! Checkpoints kept in Kafka: a compacted changelog topic per pipeline,
//! consumer group and input topic (`buzz-<pipeline>-<group>-<topic>-changelog`,
//! one partition),
//! keyed by what each record is the checkpoint of (`partition-<n>`,
//! `source`), so a consumer on another machine that takes over a partition
//! takes over its state too, as with Kafka Streams' changelog topics.
//!
//! Compaction keeps only the latest record per key, but a reader replays
//! the topic from its start and never relies on compaction having run
//! (tansu compacts only on SQL storage, every few minutes). The latest
//! record of a key wins, as compaction would have it; an empty record
//! deletes the key. Every checkpoint is a consistent pair of state and
//! position, so even a late one from a member that just lost the partition
//! is exact to resume from (it only means more to re-read).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use std::sync::Mutex;

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{Offset, TopicPartitionList};

use super::client::{EMBEDDED_FETCH_WAIT_MS, base_config, close_consumer, flush_promptly, serve_reports};
use super::topic::TopicCreator;
use crate::config::{Brokers, KafkaTransport};
use crate::state::{SourceCheckpoint, TaskCheckpoint};
use crate::transport::TransportError;

/// A state of 100,000 keys is a few MB of JSON: above librdkafka's 1 MB
/// default record size, so the changelog's clients allow 64 MB.
const MAX_CHECKPOINT_BYTES: &str = "67108864";
const RECEIVE_MAX_BYTES: &str = "67109376";
const SOURCE_KEY: &str = "source";

/// The changelog topic of a pipeline's consumer group reading its topic
/// (another topic's checkpoints would stand for other records).
pub fn topic_name(spec: &KafkaTransport) -> String {
    format!("buzz-{}-{}-{}-changelog", spec.pipeline, spec.group, spec.topic)
}

fn task_key(partition: i32) -> String {
    format!("partition-{partition}")
}

/// Remembers a checkpoint the broker refused, so saving it is not reported
/// as done.
#[derive(Default)]
struct Deliveries {
    failed: Mutex<Option<String>>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((error, _)) = result {
            *self.failed.lock().expect("deliveries poisoned") = Some(error.to_string());
        }
    }
}

pub struct Changelog {
    topic: String,
    creator: TopicCreator,
    producer: BaseProducer<Deliveries>,
    tail: BaseConsumer,
    assigned: bool,
    /// The next changelog offset to read.
    next: i64,
    tasks: BTreeMap<i32, TaskCheckpoint>,
    source: Option<SourceCheckpoint>,
}

impl Drop for Changelog {
    fn drop(&mut self) {
        close_consumer(&self.tail);
    }
}

/// How long the changelog's tail waits at the broker for new checkpoints:
/// briefly on the embedded broker (see `EMBEDDED_FETCH_WAIT_MS`). On a real
/// broker a 10 ms wait made an idle tail ask 100 times a second (tansu spent 0.4 CPU-s per 8 s serving one idle
/// consumer, BENCHMARKS section 2); 100 ms keeps a merged view within a
/// tenth of a second of its checkpoints even on a broker that holds a
/// fetch for its whole wait.
fn tail_fetch_wait_ms(spec: &KafkaTransport) -> &'static str {
    if spec.brokers == Brokers::Embedded { EMBEDDED_FETCH_WAIT_MS } else { "100" }
}

impl Changelog {
    pub fn open(spec: &KafkaTransport, bootstrap: &str) -> Result<Self, TransportError> {
        let topic = topic_name(spec);
        let changelog_spec = KafkaTransport { topic: topic.clone(), partitions: 1, create_topic: true, ..spec.clone() };
        let fail = |e: KafkaError| TransportError(format!("cannot open the changelog topic {topic}: {e}"));
        let producer = base_config(spec, bootstrap)
            .set("enable.idempotence", "true")
            .set("allow.auto.create.topics", "false")
            .set("linger.ms", "0")
            .set("message.max.bytes", MAX_CHECKPOINT_BYTES)
            .create_with_context(Deliveries::default())
            .map_err(fail)?;
        let tail = base_config(spec, bootstrap)
            .set("group.id", format!("{topic}-reader"))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("allow.auto.create.topics", "false")
            .set("fetch.max.bytes", MAX_CHECKPOINT_BYTES)
            .set("max.partition.fetch.bytes", MAX_CHECKPOINT_BYTES)
            .set("receive.message.max.bytes", RECEIVE_MAX_BYTES)
            .set("fetch.wait.max.ms", tail_fetch_wait_ms(spec))
            .create()
            .map_err(fail)?;
        Ok(Changelog {
            creator: TopicCreator::new(&changelog_spec, bootstrap).compacted(),
            topic,
            producer,
            tail,
            assigned: false,
            next: 0,
            tasks: BTreeMap::new(),
            source: None,
        })
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Creates the topic if missing and starts following it.
    fn ensure(&mut self) -> Result<(), TransportError> {
        if self.assigned {
            return Ok(());
        }
        self.creator.ensure()?;
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&self.topic, 0, Offset::Beginning)
            .and_then(|()| self.tail.assign(&tpl))
            .map_err(|e| TransportError(format!("cannot read the changelog topic {}: {e}", self.topic)))?;
        self.assigned = true;
        Ok(())
    }

    /// Reads everything the changelog holds now.
    pub fn catch_up(&mut self, limit: Duration) -> Result<(), TransportError> {
        self.ensure()?;
        let (_, end) = self
            .tail
            .fetch_watermarks(&self.topic, 0, Duration::from_secs(5))
            .map_err(|e| TransportError(format!("cannot find the end of the changelog topic {}: {e}", self.topic)))?;
        let deadline = Instant::now() + limit;
        let mut last_error = None;
        while self.next < end {
            if Instant::now() > deadline {
                return Err(last_error.unwrap_or_else(|| {
                    TransportError(format!(
                        "the changelog topic {} did not reach its end ({end}) within {} s",
                        self.topic,
                        limit.as_secs()
                    ))
                }));
            }
            // The brokers answered for the end just now, so an error read
            // here may be one queued while they were away (librdkafka
            // queues one per failed connection): passed over until the end
            // is reached or the time is up.
            if let Err(e) = self.take(Duration::from_millis(100)) {
                last_error = Some(e);
            }
        }
        Ok(())
    }

    /// Takes what has arrived without waiting; true if a partition's
    /// checkpoint changed.
    pub fn poll(&mut self) -> bool {
        if self.ensure().is_err() {
            return false;
        }
        let mut changed = false;
        while let Ok(Some(task)) = self.take(Duration::ZERO) {
            changed |= task;
        }
        changed
    }

    /// Reads one record: `None` if none came within `wait`, else whether
    /// it was a partition's checkpoint.
    fn take(&mut self, wait: Duration) -> Result<Option<bool>, TransportError> {
        let message = match self.tail.poll(wait) {
            None | Some(Err(KafkaError::PartitionEOF(_))) => return Ok(None),
            Some(Err(e)) => return Err(TransportError(format!("cannot read the changelog topic {}: {e}", self.topic))),
            Some(Ok(message)) => message,
        };
        self.next = message.offset() + 1;
        let key = message.key().map(String::from_utf8_lossy).unwrap_or_default();
        let payload = message.payload();
        if key == SOURCE_KEY {
            self.source = payload.and_then(|p| decoded(SourceCheckpoint::decode(p), &key));
            return Ok(Some(false));
        }
        let Some(partition) = key.strip_prefix("partition-").and_then(|p| p.parse().ok()) else {
            return Ok(Some(false));
        };
        match payload.and_then(|p| decoded(TaskCheckpoint::decode(p), &key)) {
            Some(checkpoint) => self.tasks.insert(partition, checkpoint),
            None => self.tasks.remove(&partition),
        };
        Ok(Some(true))
    }

    pub fn task(&self, partition: i32) -> Option<&TaskCheckpoint> {
        self.tasks.get(&partition)
    }

    pub fn tasks(&self) -> impl Iterator<Item = &TaskCheckpoint> {
        self.tasks.values()
    }

    pub fn source(&self) -> Option<&SourceCheckpoint> {
        self.source.as_ref()
    }

    /// Deletes the partitions' checkpoints: they start over (`buzz reset`).
    pub fn delete_tasks(&mut self, partitions: impl Iterator<Item = i32>) -> Result<(), TransportError> {
        for partition in partitions {
            self.put(&task_key(partition), None)?;
        }
        self.flush()
    }

    /// Writes the checkpoints and waits until the broker has them.
    pub fn save_tasks(&mut self, checkpoints: &[TaskCheckpoint]) -> Result<(), TransportError> {
        self.send_tasks(checkpoints)?;
        self.flush()
    }

    /// Hands the checkpoints to the producer without waiting for the
    /// broker: [`Changelog::delivered`] says when it has them. A later
    /// checkpoint of a partition always lands after an earlier one (the
    /// idempotent producer keeps the order), so one still in flight can
    /// never overwrite a newer one.
    pub fn send_tasks(&mut self, checkpoints: &[TaskCheckpoint]) -> Result<(), TransportError> {
        for checkpoint in checkpoints {
            let bytes = serde_json::to_vec(checkpoint).expect("checkpoints encode");
            self.put(&task_key(checkpoint.partition), Some(&bytes))?;
        }
        Ok(())
    }

    /// Waits (a little) until the broker has this member's own checkpoints
    /// still in flight, so that restoring reads them: after an outage the
    /// group can hand a partition back before they land. Restoring from
    /// an older checkpoint would still be exact, only re-read more.
    pub fn land_own(&mut self) {
        if self.producer.in_flight_count() == 0 {
            return;
        }
        if let Err(e) = self.flush() {
            tracing::warn!(
                "restoring without this member's latest checkpoint, which the broker has not taken yet: {e}"
            );
        }
    }

    /// Whether the broker has everything sent so far: `None` while some
    /// is in flight, an error if it refused any of it.
    pub fn delivered(&mut self) -> Option<Result<(), TransportError>> {
        // Serves the delivery reports, which count as in flight until then.
        self.producer.poll(Duration::ZERO);
        if self.producer.in_flight_count() > 0 {
            return None;
        }
        Some(self.take_refusal())
    }

    /// Writes (or with `None` deletes) the source's checkpoint.
    pub fn save_source(&mut self, checkpoint: Option<&SourceCheckpoint>) -> Result<(), TransportError> {
        let bytes = checkpoint.map(|c| serde_json::to_vec(c).expect("checkpoints encode"));
        self.put(SOURCE_KEY, bytes.as_deref())?;
        self.flush()
    }

    fn put(&mut self, key: &str, payload: Option<&[u8]>) -> Result<(), TransportError> {
        self.ensure()?;
        let mut record: BaseRecord<'_, str, [u8]> = BaseRecord::to(&self.topic).key(key).partition(0);
        if let Some(payload) = payload {
            record = record.payload(payload);
        }
        self.producer
            .send(record)
            .map_err(|(e, _)| TransportError(format!("cannot write to the changelog topic {}: {e}", self.topic)))
    }

    fn flush(&mut self) -> Result<(), TransportError> {
        let producer = &self.producer;
        flush_promptly(Duration::from_secs(5), || producer.flush(Duration::ZERO), || serve_reports(producer))
            .map_err(|e| self.refused(&e))?;
        self.take_refusal()
    }

    /// The broker's refusal of anything delivered since the last call.
    fn take_refusal(&self) -> Result<(), TransportError> {
        match self.producer.context().failed.lock().expect("deliveries poisoned").take() {
            Some(e) => Err(self.refused(&e)),
            None => Ok(()),
        }
    }

    fn refused(&self, e: &dyn std::fmt::Display) -> TransportError {
        TransportError(format!("the changelog topic {} did not take the checkpoint: {e}", self.topic))
    }
}

/// A checkpoint the changelog holds, or `None` (with a warning) for one
/// this buzz cannot read.
fn decoded<T>(result: Result<T, String>, key: &str) -> Option<T> {
    result.map_err(|e| tracing::warn!("changelog record {key}: {e}")).ok()
}
