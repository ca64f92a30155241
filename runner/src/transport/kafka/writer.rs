//! The producer end: an idempotent producer that never gives up on a record
//! (`message.timeout.ms = 0`): while the broker is away, records wait in
//! librdkafka's queue and the pipeline waits when the queue is full.
//!
//! The source's checkpoint goes to the group's changelog topic with each
//! partition's end at that moment. A restarted producer resumes its source
//! from it and skips, per partition, as many records as the topic gained
//! after it: those the killed producer had delivered. Records go to
//! partitions by a pure function of their key (or of their sequence
//! number), so the skipped ones are exactly the delivered ones; no broker
//! transactions are needed (tansu has none). This assumes one producer per
//! topic and a source that replays the same records from the same state.
//!
//! An idempotent producer meets a fatal error when the broker forgets it
//! (a broker restarted without its data, say). The producer is then
//! replaced by a new one and every record the old one had not delivered is
//! sent again: at-least-once, never lost.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};

use super::changelog::Changelog;
use super::client::{ErrorReporter, base_config, flush_promptly, log_librdkafka, set_default};
use super::partitioner::Partitioner;
use super::topic::{TopicCreator, partition_count, partition_ends};
use crate::config::{Brokers, KafkaTransport};
use crate::plugin_host::RecordView;
use crate::state::{self, FORMAT_VERSION, SavedState, SourceCheckpoint, StageState};
use crate::throttle::Throttle;
use crate::transport::{EndMark, SendProgress, TransportError, TransportWriter};

/// A record the producer did not deliver.
struct Undelivered {
    payload: Vec<u8>,
    key: Option<Vec<u8>>,
    partition: i32,
    timestamp_ms: Option<i64>,
    reason: String,
    /// Failed because its producer failed (send it again), not because
    /// the broker refused the record (dead-letter it).
    resend: bool,
}

/// What every producer of this writer reports into.
#[derive(Default)]
struct Deliveries {
    /// The next offset per partition after the latest delivery.
    delivered: Mutex<BTreeMap<i32, i64>>,
    undelivered: Mutex<Vec<Undelivered>>,
}

struct DeliveryContext {
    errors: ErrorReporter,
    deliveries: Arc<Deliveries>,
}

impl ClientContext for DeliveryContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        log_librdkafka(level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.errors.report(&error, reason);
    }
}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(message) => {
                // Reports arrive in order per partition; the latest one wins
                // (not the largest: a broker that lost its log on restart
                // numbers the partition from 0 again).
                self.deliveries
                    .delivered
                    .lock()
                    .expect("deliveries poisoned")
                    .insert(message.partition(), message.offset() + 1);
            }
            Err((error, message)) => {
                // The producer's failure, not the record's: the broker lost
                // or rejected the producer's state, or the queue was purged
                // when the producer was replaced.
                let resend = matches!(
                    error.rdkafka_error_code(),
                    Some(
                        RDKafkaErrorCode::Fatal
                            | RDKafkaErrorCode::PurgeQueue
                            | RDKafkaErrorCode::PurgeInflight
                            | RDKafkaErrorCode::OutOfOrderSequenceNumber
                            | RDKafkaErrorCode::UnknownProducerId
                            | RDKafkaErrorCode::InvalidProducerEpoch
                            | RDKafkaErrorCode::InvalidProducerIdMapping
                    )
                );
                self.deliveries.undelivered.lock().expect("failures poisoned").push(Undelivered {
                    payload: message.payload().unwrap_or_default().to_vec(),
                    key: message.key().map(<[u8]>::to_vec),
                    partition: message.partition(),
                    timestamp_ms: message.timestamp().to_millis(),
                    reason: format!("Kafka refused the record: {error}"),
                    resend,
                });
            }
        }
    }
}

pub struct KafkaWriter {
    spec: KafkaTransport,
    bootstrap: String,
    topic: String,
    creator: TopicCreator,
    /// Opened when the source is first resumed or checkpointed.
    changelog: Option<Changelog>,
    /// Records per partition that the last run delivered after its
    /// checkpoint; the resumed source sends them again, and they are skipped.
    skip: BTreeMap<i32, i64>,
    config: ClientConfig,
    label: String,
    deliveries: Arc<Deliveries>,
    producer: ThreadedProducer<DeliveryContext>,
    queue_full: Throttle,
    /// Picks each record's key and partition (partitioner.rs).
    partitioner: Partitioner,
    /// How long the producer holds a record to batch it with later ones.
    linger: Duration,
}

impl KafkaWriter {
    pub fn open(spec: &KafkaTransport) -> Result<Self, TransportError> {
        let bootstrap = super::client::bootstrap(spec)?;
        let config = producer_config(spec, &bootstrap);
        let label = format!("producer for topic {} at {bootstrap}", spec.topic);
        let deliveries = Arc::new(Deliveries::default());
        let producer = new_producer(&config, &label, &deliveries)?;
        if spec.brokers == Brokers::Embedded {
            // The idempotent producer asks for its id as soon as it starts,
            // usually before its connection is up, and then waits 500 ms to
            // ask again; a metadata answer makes it ask at once. Measured:
            // first chart frame after ~0.5-1.1 s without this. (No topic is
            // named: asking for a missing one would create it with the
            // broker's partition count, not the file's.)
            let _ = producer.client().fetch_metadata(None, Duration::from_secs(1));
        }
        Ok(KafkaWriter {
            spec: spec.clone(),
            bootstrap: bootstrap.clone(),
            changelog: None,
            skip: BTreeMap::new(),
            topic: spec.topic.clone(),
            creator: TopicCreator::new(spec, &bootstrap),
            linger: linger(&config),
            config,
            label,
            deliveries,
            producer,
            queue_full: Throttle::new(Duration::from_secs(5)),
            partitioner: Partitioner::new(spec.key.clone()),
        })
    }

    fn changelog(&mut self) -> Result<&mut Changelog, TransportError> {
        if self.changelog.is_none() {
            self.changelog = Some(Changelog::open(&self.spec, &self.bootstrap)?);
        }
        Ok(self.changelog.as_mut().expect("opened above"))
    }

    /// Each partition's end offset now.
    fn ends(&self) -> Result<BTreeMap<i32, i64>, TransportError> {
        partition_ends(self.producer.client(), &self.topic)
    }

    /// Sends one record, waiting while the queue is full and replacing a
    /// producer that failed for good. `Ok(Some(reason))`: the client refused
    /// this record itself (too large for `message.max.bytes`); sending it
    /// again would fail the same way.
    fn send_one(
        &mut self,
        payload: &[u8],
        key: Option<&[u8]>,
        partition: i32,
        timestamp_ms: Option<i64>,
    ) -> Result<Option<String>, TransportError> {
        loop {
            let mut message: BaseRecord<'_, [u8], [u8]> =
                BaseRecord::to(&self.topic).payload(payload).partition(partition);
            if let Some(key) = key {
                message = message.key(key);
            }
            if let Some(timestamp_ms) = timestamp_ms {
                message = message.timestamp(timestamp_ms);
            }
            match self.producer.send(message) {
                Ok(()) => return Ok(None),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    if self.queue_full.ready() {
                        let why = self
                            .producer
                            .context()
                            .errors
                            .last_error()
                            .unwrap_or_else(|| "the broker is slower than the source".into());
                        tracing::warn!("Kafka producer queue is full ({why}); waiting");
                    }
                    self.producer.poll(Duration::from_millis(10));
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::Fatal), _)) => self.replace_producer()?,
                Err((error @ KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge), _)) => {
                    let limit = self.config.get("message.max.bytes").unwrap_or("1000000");
                    return Ok(Some(format!(
                        "Kafka refused the record: {error} (the record and its key are {} bytes; message.max.bytes is {limit})",
                        payload.len() + key.map_or(0, <[u8]>::len)
                    )));
                }
                Err((error, _)) => return Err(TransportError(format!("cannot send to topic {}: {error}", self.topic))),
            }
        }
    }

    /// Swaps a producer that hit a fatal error for a new one and sends again
    /// what the old one had not delivered.
    fn replace_producer(&mut self) -> Result<(), TransportError> {
        let why = self
            .producer
            .client()
            .fatal_error()
            .map_or_else(|| "unknown".to_string(), |(code, text)| format!("{code}: {text}"));
        tracing::error!(
            "Kafka {}: fatal producer error ({why}); the broker probably lost its state (restarted without its data). \
             Starting a new producer and sending again every record not yet delivered",
            self.label
        );
        let fresh = new_producer(&self.config, &self.label, &self.deliveries)?;
        // Dropping the old producer purges its queue: every record it held
        // comes back as undelivered, to be sent again.
        drop(std::mem::replace(&mut self.producer, fresh));
        let resend: Vec<Undelivered> = {
            let mut undelivered = self.deliveries.undelivered.lock().expect("failures poisoned");
            let (resend, keep) = std::mem::take(&mut *undelivered).into_iter().partition(|u| u.resend);
            *undelivered = keep;
            resend
        };
        tracing::info!("Kafka {}: sending {} undelivered records again", self.label, resend.len());
        for record in &resend {
            // Each was taken once already, so none is too large.
            self.send_one(&record.payload, record.key.as_deref(), record.partition, record.timestamp_ms)?;
        }
        Ok(())
    }
}

/// The producer's `linger.ms` (or its other name, librdkafka's
/// `queue.buffering.max.ms`).
fn linger(config: &ClientConfig) -> Duration {
    let ms = ["linger.ms", "queue.buffering.max.ms"].iter().find_map(|key| config.get(key)?.trim().parse::<f64>().ok());
    // A value librdkafka would refuse never gets this far (the producer
    // is made first); 5 ms is librdkafka's default.
    Duration::from_secs_f64(ms.unwrap_or(5.0).max(0.0) / 1000.0)
}

/// The producer's settings: the transport's, and buzz's defaults where the
/// user's `properties` do not say otherwise.
pub(super) fn producer_config(spec: &KafkaTransport, bootstrap: &str) -> ClientConfig {
    let mut config = base_config(spec, bootstrap);
    set_default(&mut config, spec, "enable.idempotence", &spec.idempotence.to_string());
    // Never drop a record for taking too long: wait for the broker.
    set_default(&mut config, spec, "message.timeout.ms", "0");
    // buzz creates the topic itself, with the file's partition count.
    set_default(&mut config, spec, "allow.auto.create.topics", "false");
    set_default(&mut config, spec, "linger.ms", "5");
    set_default(&mut config, spec, "queue.buffering.max.messages", "1000000");
    if spec.brokers == Brokers::Embedded {
        // The mock broker serves very large message sets slowly
        // (measured-facts.md); 1000 per set is its fastest here.
        set_default(&mut config, spec, "batch.num.messages", "1000");
    }
    config
}

fn new_producer(
    config: &ClientConfig,
    label: &str,
    deliveries: &Arc<Deliveries>,
) -> Result<ThreadedProducer<DeliveryContext>, TransportError> {
    let context = DeliveryContext { errors: ErrorReporter::new(label.to_string()), deliveries: deliveries.clone() };
    config.create_with_context(context).map_err(|e| TransportError(format!("cannot create a Kafka {label}: {e}")))
}

impl TransportWriter for KafkaWriter {
    fn send(&mut self, records: &[RecordView<'_>], progress: &mut SendProgress) -> Result<(), TransportError> {
        self.creator.ensure()?;
        if self.partitioner.partitions().is_none() {
            self.partitioner.set_partitions(partition_count(self.producer.client(), &self.topic)?);
        }
        // Records before `progress.taken` were handed to librdkafka by an
        // earlier try: sending them again would duplicate them.
        for (index, record) in records.iter().enumerate().skip(progress.taken) {
            let RecordView { payload, key, timestamp_ms, .. } = *record;
            let sequence = self.partitioner.sequence();
            let (key, partition) = self.partitioner.route(payload, key);
            if let Some(left) = self.skip.get_mut(&partition).filter(|left| **left > 0) {
                *left -= 1;
            } else {
                match self.send_one(payload, key.as_deref(), partition, timestamp_ms) {
                    Ok(None) => {}
                    Ok(Some(reason)) => progress.rejected.push((index, reason)),
                    Err(e) => {
                        // Not taken: the retry routes it as this try did.
                        self.partitioner.set_sequence(sequence);
                        return Err(e);
                    }
                }
            }
            progress.taken = index + 1;
        }
        self.queue_full.reset();
        Ok(())
    }

    fn source_waits(&mut self, wait: Duration, spend: Duration) {
        // Lingering gathers the records made before it ends: when the source
        // makes none for longer, it only delays those held. A shorter wait
        // keeps the batching (flushing every burst of a source at 10,000
        // records/s took the page's p99 from 18-22 ms to 26-29 ms).
        if wait >= self.linger && self.producer.in_flight_count() > 0 {
            super::send_now::send_within(self.producer.client(), spend);
        }
    }

    fn flush(&mut self) -> Result<(), TransportError> {
        if self.producer.client().fatal_error().is_some() {
            self.replace_producer()?;
        }
        // The producer's own thread serves its delivery reports.
        let producer = &self.producer;
        let pause = || std::thread::sleep(Duration::from_millis(1));
        flush_promptly(Duration::from_secs(5), || producer.flush(Duration::ZERO), pause).map_err(|e| {
            let why = self.producer.context().errors.last_error().unwrap_or_else(|| e.to_string());
            TransportError(format!("records are still waiting for the broker: {why}"))
        })?;
        if self.producer.client().fatal_error().is_some() {
            return Err(TransportError("the producer failed; it is replaced on the next try".into()));
        }
        self.producer.context().errors.clear();
        Ok(())
    }

    /// Every partition's end (not only those this run wrote to): a consumer
    /// resuming from checkpoints has read everything only once it reaches them all.
    fn end_mark(&self) -> EndMark {
        let mut ends = self.ends().unwrap_or_default();
        for (partition, delivered) in self.deliveries.delivered.lock().expect("deliveries poisoned").iter() {
            let end = ends.entry(*partition).or_insert(*delivered);
            *end = (*end).max(*delivered);
        }
        EndMark::Kafka(ends)
    }

    fn take_failed(&mut self, out: &mut Vec<(Vec<u8>, String)>) {
        let mut undelivered = self.deliveries.undelivered.lock().expect("failures poisoned");
        let (resend, refused): (Vec<_>, Vec<_>) = std::mem::take(&mut *undelivered).into_iter().partition(|u| u.resend);
        *undelivered = resend;
        out.extend(refused.into_iter().map(|u| (u.payload, u.reason)));
    }

    fn pending(&self) -> usize {
        self.producer.in_flight_count().max(0) as usize
    }

    fn resume_source(
        &mut self,
        source_type: &str,
        meaning: &Option<serde_json::Value>,
    ) -> Result<Option<SavedState>, TransportError> {
        self.creator.ensure()?;
        let changelog = self.changelog()?;
        changelog.catch_up(Duration::from_secs(30))?;
        let topic = changelog.topic().to_string();
        let Some(saved) = changelog.source().filter(|s| s.source.describes(source_type, meaning)).cloned() else {
            return Ok(None);
        };
        let then: BTreeMap<i32, i64> = serde_json::from_value(saved.transport["ends"].clone()).unwrap_or_default();
        let now = self.ends()?;
        if then.iter().any(|(p, end)| now.get(p).is_none_or(|n| n < end)) {
            tracing::warn!(topic = %self.topic, "topic {} is shorter than when the source was checkpointed (in {topic}): it was recreated, so the source starts from its beginning", self.topic);
            return Ok(None);
        }
        self.skip = now.iter().map(|(p, end)| (*p, end - then.get(p).copied().unwrap_or(0))).collect();
        self.partitioner.set_sequence(saved.transport["sequence"].as_u64().unwrap_or(0));
        let repeated: i64 = self.skip.values().sum();
        if repeated > 0 {
            tracing::info!(topic = %self.topic, "the source resumes from its checkpoint; the {repeated} records it had delivered after it are not sent again");
        }
        Ok(saved.source.state)
    }

    fn checkpoint_source(&mut self, source: StageState) -> Result<(), TransportError> {
        if self.skip.values().any(|left| *left > 0) {
            // The topic is ahead of the source until the skipping is done:
            // the previous checkpoint still stands for both.
            return Ok(());
        }
        let checkpoint = SourceCheckpoint {
            format: FORMAT_VERSION,
            source,
            transport: serde_json::json!({ "ends": self.ends()?, "sequence": self.partitioner.sequence() }),
            saved_at_ms: state::now_ms(),
        };
        self.changelog()?.save_source(Some(&checkpoint))
    }
}
