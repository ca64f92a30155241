//! Reading a whole topic as it is now, from each partition's first record
//! to its end, without a consumer group (nothing is committed): for tools
//! such as `buzz replay`, which re-reads a dead-letter topic.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use super::client::base_config;
use crate::config::{Brokers, KafkaTransport};
use crate::transport::TransportError;

/// How long reading may wait for records the broker said it holds.
const READ_LIMIT: Duration = Duration::from_secs(30);
const METADATA_WAIT: Duration = Duration::from_secs(10);

/// One record of the topic: `topic/partition/offset` and its payload.
pub struct TopicRecord {
    pub position: String,
    pub payload: Vec<u8>,
}

/// Each partition's end offset now.
pub fn partition_ends(spec: &KafkaTransport) -> Result<BTreeMap<i32, i64>, TransportError> {
    let bootstrap = super::client::bootstrap(spec)?;
    let fail = |e: &dyn std::fmt::Display| {
        TransportError(format!("cannot find the ends of topic {} at {bootstrap}: {e}", spec.topic))
    };
    let consumer: BaseConsumer = base_config(spec, &bootstrap)
        .set("group.id", format!("buzz-read-{}", spec.topic))
        .set("allow.auto.create.topics", "false")
        .create()
        .map_err(|e| fail(&e))?;
    super::topic::partition_ends(consumer.client(), &spec.topic).map_err(|e| fail(&e))
}

/// Every record the topic holds now, in partition then offset order.
pub fn read_topic(spec: &KafkaTransport) -> Result<Vec<TopicRecord>, TransportError> {
    if spec.brokers == Brokers::Embedded {
        // A new embedded broker here would be empty: the records lived in
        // the process that wrote them.
        return Err(TransportError(format!(
            "topic {} is on the embedded broker, which lived in the buzz process that wrote it; \
             only a topic on a real cluster can be read afterwards (set KAFKA_BROKERS or brokers)",
            spec.topic
        )));
    }
    let bootstrap = super::client::bootstrap(spec)?;
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        TransportError(format!("cannot {what} topic {} at {bootstrap}: {e}", spec.topic))
    };
    let consumer: BaseConsumer = base_config(spec, &bootstrap)
        .set("group.id", format!("buzz-read-{}", spec.topic))
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        // The end can sit past the last record (a transaction marker).
        .set("enable.partition.eof", "true")
        .create()
        .map_err(|e| fail("read", &e))?;
    let metadata = consumer.fetch_metadata(Some(&spec.topic), METADATA_WAIT).map_err(|e| fail("read", &e))?;
    let topic = metadata.topics().iter().find(|t| t.name() == spec.topic && t.error().is_none());
    let Some(topic) = topic.filter(|t| !t.partitions().is_empty()) else {
        return Err(TransportError(format!("topic {} does not exist at {bootstrap}", spec.topic)));
    };

    // Where each partition ends now; records written later are not read.
    let mut ends = BTreeMap::new();
    let mut assignment = TopicPartitionList::new();
    for partition in topic.partitions().iter().map(|p| p.id()) {
        let (low, high) = consumer
            .fetch_watermarks(&spec.topic, partition, METADATA_WAIT)
            .map_err(|e| fail("find the end of", &e))?;
        if high > low {
            ends.insert(partition, high);
            assignment
                .add_partition_offset(&spec.topic, partition, Offset::Offset(low))
                .map_err(|e| fail("read", &e))?;
        }
    }
    consumer.assign(&assignment).map_err(|e| fail("read", &e))?;

    let mut records: BTreeMap<(i32, i64), Vec<u8>> = BTreeMap::new();
    let deadline = Instant::now() + READ_LIMIT;
    while !ends.is_empty() {
        if Instant::now() > deadline {
            return Err(TransportError(format!(
                "read {} records of topic {} at {bootstrap}, but partitions {:?} did not reach their ends within {} s",
                records.len(),
                spec.topic,
                ends.keys().collect::<Vec<_>>(),
                READ_LIMIT.as_secs()
            )));
        }
        let Some(message) = consumer.poll(Duration::from_millis(200)) else { continue };
        let message = match message {
            Ok(message) => message,
            Err(KafkaError::PartitionEOF(partition)) => {
                ends.remove(&partition);
                continue;
            }
            Err(e) => return Err(fail("read", &e)),
        };
        let (partition, offset) = (message.partition(), message.offset());
        let Some(&end) = ends.get(&partition) else { continue };
        if offset < end {
            records.insert((partition, offset), message.payload().unwrap_or_default().to_vec());
        }
        if offset + 1 >= end {
            ends.remove(&partition);
        }
    }
    Ok(records
        .into_iter()
        .map(|((partition, offset), payload)| TopicRecord {
            position: format!("{}/{partition}/{offset}", spec.topic),
            payload,
        })
        .collect())
}
