//! The Kafka transport, on librdkafka (`rdkafka`): a real cluster named by
//! `brokers`, or an embedded one in this process.
//!
//! Delivery is at-least-once: the producer is idempotent and retries until
//! the broker takes each record; the consumer stores a record's offset only
//! after the transform took it, and commits what it stored on rebalance and
//! on shutdown.
//!
//! buzz picks each record's partition itself (`partitioner.rs`): a keyed
//! record goes where Kafka's Java client would send it.

pub(crate) mod changelog;
mod client;
// librdkafka's mock cluster has no safe binding in rdkafka: its C API, called directly.
#[allow(unsafe_code)]
mod embedded;
pub(crate) mod hosting;
mod partitioner;
mod read_ahead;
mod reader;
// rust-rdkafka's flush lets records linger (see the module): librdkafka's, called directly.
#[allow(unsafe_code)]
mod send_now;
mod settings_check;
mod snapshot;
mod topic;
mod writer;

pub use client::{bootstrap, close_consumer};
pub use embedded::{
    delay_next_embedded_produce, embedded_bootstrap, fail_next_embedded_produce, set_embedded_broker_up,
    set_embedded_topic_error,
};
pub use partitioner::{murmur2, partition_for_key, partition_for_unkeyed};
pub use reader::KafkaReader;
pub use settings_check::check_client_settings;
pub use snapshot::{TopicRecord, partition_ends, read_topic};
pub use writer::KafkaWriter;

/// Creates the spec's topic if it is missing (for tools and benchmarks).
pub fn create_topic(spec: &crate::config::KafkaTransport) -> Result<(), crate::transport::TransportError> {
    topic::TopicCreator::new(spec, &bootstrap(spec)?).ensure()
}
