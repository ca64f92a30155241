//! The producer end: an idempotent producer that never gives up on a record
//! (`message.timeout.ms = 0`): while the broker is away, records wait in
//! librdkafka's queue and the pipeline waits when the queue is full.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use buzz_sdk::abi::{FfiRecord, NO_TIMESTAMP};
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};

use super::client::{ErrorReporter, base_config, log_librdkafka, set_default};
use super::topic::TopicCreator;
use crate::config::{Brokers, KafkaTransport};
use crate::pipeline::throttle::Throttle;
use crate::transport::{EndMark, TransportError, TransportWriter};

/// Tracks deliveries: the next offset per partition (for the end mark) and
/// the records the broker refused for good.
struct DeliveryContext {
    errors: ErrorReporter,
    delivered: Mutex<BTreeMap<i32, i64>>,
    failed: Mutex<Vec<(Vec<u8>, String)>>,
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
                let mut delivered = self.delivered.lock().expect("deliveries poisoned");
                let next = delivered.entry(message.partition()).or_insert(0);
                *next = (*next).max(message.offset() + 1);
            }
            Err((error, message)) => {
                let payload = message.payload().unwrap_or_default().to_vec();
                self.failed
                    .lock()
                    .expect("failures poisoned")
                    .push((payload, format!("Kafka refused the record: {error}")));
            }
        }
    }
}

pub struct KafkaWriter {
    topic: String,
    creator: TopicCreator,
    producer: ThreadedProducer<DeliveryContext>,
    queue_full: Throttle,
}

impl KafkaWriter {
    pub fn open(spec: &KafkaTransport) -> Result<Self, TransportError> {
        let bootstrap = super::client::bootstrap(spec)?;
        let mut config = base_config(spec, &bootstrap);
        set_default(&mut config, spec, "enable.idempotence", &spec.idempotence.to_string());
        // Never drop a record for taking too long: wait for the broker.
        set_default(&mut config, spec, "message.timeout.ms", "0");
        set_default(&mut config, spec, "linger.ms", "5");
        set_default(&mut config, spec, "queue.buffering.max.messages", "1000000");
        if spec.brokers == Brokers::Embedded {
            // The mock broker serves very large message sets slowly
            // (measured-facts.md); 1000 per set is its fastest here.
            set_default(&mut config, spec, "batch.num.messages", "1000");
        }
        let context = DeliveryContext {
            errors: ErrorReporter::new(format!("producer for topic {} at {bootstrap}", spec.topic)),
            delivered: Mutex::new(BTreeMap::new()),
            failed: Mutex::new(Vec::new()),
        };
        let producer = config
            .create_with_context(context)
            .map_err(|e| TransportError(format!("cannot create a Kafka producer for {bootstrap}: {e}")))?;
        Ok(KafkaWriter {
            topic: spec.topic.clone(),
            creator: TopicCreator::new(spec, &bootstrap),
            producer,
            queue_full: Throttle::new(Duration::from_secs(5)),
        })
    }
}

impl TransportWriter for KafkaWriter {
    fn send(&mut self, records: &[FfiRecord], _rejected: &mut Vec<(usize, String)>) -> Result<(), TransportError> {
        self.creator.ensure()?;
        for record in records {
            // SAFETY: records come from a live plugin output.
            let (payload, key) = unsafe { (record.payload.as_bytes(), record.key.as_opt()) };
            let mut message: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(&self.topic).payload(payload);
            if let Some(key) = key {
                message = message.key(key);
            }
            if record.timestamp_ms != NO_TIMESTAMP {
                message = message.timestamp(record.timestamp_ms);
            }
            loop {
                match self.producer.send(message) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                        if self.queue_full.ready() {
                            let why = self
                                .producer
                                .context()
                                .errors
                                .last_error()
                                .unwrap_or_else(|| "the broker is slower than the source".into());
                            tracing::warn!("Kafka producer queue is full ({why}); waiting");
                        }
                        message = returned;
                        self.producer.poll(Duration::from_millis(10));
                    }
                    Err((error, _)) => {
                        return Err(TransportError(format!("cannot send to topic {}: {error}", self.topic)));
                    }
                }
            }
        }
        self.queue_full.reset();
        Ok(())
    }

    fn flush(&mut self) -> Result<(), TransportError> {
        self.producer.flush(Duration::from_secs(5)).map_err(|e| {
            let why = self.producer.context().errors.last_error().unwrap_or_else(|| e.to_string());
            TransportError(format!("records are still waiting for the broker: {why}"))
        })?;
        self.producer.context().errors.clear();
        Ok(())
    }

    fn end_mark(&self) -> EndMark {
        EndMark::Kafka(self.producer.context().delivered.lock().expect("deliveries poisoned").clone())
    }

    fn take_failed(&mut self, out: &mut Vec<(Vec<u8>, String)>) {
        out.append(&mut self.producer.context().failed.lock().expect("failures poisoned"));
    }

    fn pending(&self) -> usize {
        self.producer.in_flight_count().max(0) as usize
    }
}
