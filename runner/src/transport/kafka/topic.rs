//! Creating the topic when it is missing. An existing topic is never
//! deleted, emptied or changed. Creation is retried by the pipeline (with
//! backoff and a clear message) while the broker is unreachable.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::Consumer;
use rdkafka::producer::Producer;
use rdkafka::types::RDKafkaErrorCode;

use super::client::base_config;
use super::embedded::create_embedded_topic;
use crate::config::{Brokers, KafkaTransport};
use crate::transport::TransportError;

/// Makes sure the topic exists, once.
pub struct TopicCreator {
    spec: KafkaTransport,
    bootstrap: String,
    admin: Option<AdminClient<DefaultClientContext>>,
    done: bool,
    /// `cleanup.policy=compact`: the broker may keep only the latest record per key.
    compacted: bool,
}

impl TopicCreator {
    pub fn new(spec: &KafkaTransport, bootstrap: &str) -> Self {
        TopicCreator {
            spec: spec.clone(),
            bootstrap: bootstrap.to_string(),
            admin: None,
            done: false,
            compacted: false,
        }
    }

    /// Creates a compacted topic (a changelog of the latest value per key).
    pub fn compacted(mut self) -> Self {
        self.compacted = true;
        self
    }

    /// Ok once the topic exists; an error (to retry later) while it cannot be made.
    pub fn ensure(&mut self) -> Result<(), TransportError> {
        if self.done {
            return Ok(());
        }
        if !self.spec.create_topic {
            self.check_exists()?;
        } else if self.spec.brokers == Brokers::Embedded {
            create_embedded_topic(&self.spec.topic, self.spec.partitions)?;
        } else if !self.exists() {
            self.create_on_cluster()?;
        }
        self.done = true;
        Ok(())
    }

    /// With `create_topic = false`: the topic must exist (and be readable).
    fn check_exists(&mut self) -> Result<(), TransportError> {
        let (spec, bootstrap) = (&self.spec, &self.bootstrap);
        let client: rdkafka::producer::BaseProducer = base_config(spec, bootstrap)
            .set("allow.auto.create.topics", "false")
            .create()
            .map_err(|e| TransportError(format!("cannot create a Kafka client: {e}")))?;
        let metadata = client.client().fetch_metadata(Some(&spec.topic), Duration::from_secs(5)).map_err(|e| {
            TransportError(format!("cannot read the metadata of topic {} at {bootstrap}: {e}", spec.topic))
        })?;
        let topic = metadata.topics().iter().find(|t| t.name() == spec.topic);
        match topic.and_then(|t| t.error()) {
            None if topic.is_some_and(|t| !t.partitions().is_empty()) => Ok(()),
            Some(rdkafka::types::RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) => {
                Err(TransportError(format!(
                    "not authorized for topic {} at {bootstrap}: grant this client access to it (ACLs), or use another topic",
                    spec.topic
                )))
            }
            _ => Err(TransportError(format!(
                "topic {} does not exist at {bootstrap}, and create_topic = false: create it, or set create_topic = true",
                spec.topic
            ))),
        }
    }

    /// True if the topic is already there: no creation to ask for (which
    /// another process's embedded broker, librdkafka's mock, cannot
    /// answer, and a cluster may not allow). Asked by a consumer-type
    /// client, which never makes the broker create the topic by asking.
    fn exists(&self) -> bool {
        let client: Result<rdkafka::consumer::BaseConsumer, _> =
            base_config(&self.spec, &self.bootstrap).set("allow.auto.create.topics", "false").create();
        let Ok(client) = client else { return false };
        let topic = &self.spec.topic;
        client.fetch_metadata(Some(topic), Duration::from_secs(5)).is_ok_and(|metadata| {
            metadata.topics().iter().any(|t| t.name() == topic && t.error().is_none() && !t.partitions().is_empty())
        })
    }

    fn create_on_cluster(&mut self) -> Result<(), TransportError> {
        let (spec, bootstrap) = (&self.spec, &self.bootstrap);
        if self.admin.is_none() {
            let admin = base_config(spec, bootstrap)
                .create()
                .map_err(|e| TransportError(format!("cannot create a Kafka admin client: {e}")))?;
            self.admin = Some(admin);
        }
        let admin = self.admin.as_ref().expect("made above");
        let mut topic = NewTopic::new(&spec.topic, spec.partitions, TopicReplication::Fixed(spec.replication));
        if self.compacted {
            topic = topic.set("cleanup.policy", "compact");
        }
        let options = AdminOptions::new()
            .operation_timeout(Some(Duration::from_secs(5)))
            .request_timeout(Some(Duration::from_secs(5)));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| TransportError(format!("cannot start a runtime for topic creation: {e}")))?;
        let results = runtime
            .block_on(admin.create_topics([&topic], &options))
            .map_err(|e| TransportError(format!("cannot create topic {} at {bootstrap}: {e}", spec.topic)))?;
        for result in results {
            match result {
                Ok(name) => tracing::info!(topic = %name, partitions = spec.partitions, "created Kafka topic"),
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((
                    name,
                    RDKafkaErrorCode::TopicAuthorizationFailed | RDKafkaErrorCode::ClusterAuthorizationFailed,
                )) => {
                    return Err(TransportError(format!(
                        "not authorized to create topic {name} at {bootstrap}: create it yourself (and set create_topic = false), or grant this client the right"
                    )));
                }
                Err((name, code)) => {
                    return Err(TransportError(format!("cannot create topic {name} at {bootstrap}: {code}")));
                }
            }
        }
        Ok(())
    }
}

/// How many partitions `topic` has, from the broker's metadata.
pub fn partition_count<C: rdkafka::client::ClientContext>(
    client: &rdkafka::client::Client<C>,
    topic: &str,
) -> Result<i32, TransportError> {
    Ok(partitions(client, topic)?.len() as i32)
}

/// The topic's partitions, or why they cannot be read.
fn partitions<C: rdkafka::client::ClientContext>(
    client: &rdkafka::client::Client<C>,
    topic: &str,
) -> Result<Vec<i32>, TransportError> {
    let metadata = client
        .fetch_metadata(Some(topic), Duration::from_secs(5))
        .map_err(|e| TransportError(format!("cannot read the metadata of topic {topic}: {e}")))?;
    let missing = || TransportError(format!("topic {topic} has no partitions yet"));
    let found = metadata.topics().iter().find(|t| t.name() == topic).ok_or_else(missing)?;
    if let Some(error) = found.error() {
        return Err(TransportError(format!("cannot read the partitions of topic {topic}: {error:?}")));
    }
    match found.partitions().iter().map(|p| p.id()).collect::<Vec<_>>() {
        ids if ids.is_empty() => Err(missing()),
        ids => Ok(ids),
    }
}

/// Each partition's end offset (high watermark) now.
pub fn partition_ends<C: rdkafka::client::ClientContext>(
    client: &rdkafka::client::Client<C>,
    topic: &str,
) -> Result<BTreeMap<i32, i64>, TransportError> {
    let wait = Duration::from_secs(5);
    partitions(client, topic)?
        .into_iter()
        .map(|id| {
            let (_, end) = client
                .fetch_watermarks(topic, id, wait)
                .map_err(|e| TransportError(format!("cannot find the end of topic {topic} partition {id}: {e}")))?;
            Ok((id, end))
        })
        .collect()
}
