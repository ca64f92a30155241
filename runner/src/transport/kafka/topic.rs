//! Creating the topic when it is missing. An existing topic is never
//! deleted, emptied or changed. Creation is retried by the pipeline (with
//! backoff and a clear message) while the broker is unreachable.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
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
}

impl TopicCreator {
    pub fn new(spec: &KafkaTransport, bootstrap: &str) -> Self {
        TopicCreator { spec: spec.clone(), bootstrap: bootstrap.to_string(), admin: None, done: false }
    }

    /// Ok once the topic exists; an error (to retry later) while it cannot be made.
    pub fn ensure(&mut self) -> Result<(), TransportError> {
        if self.done {
            return Ok(());
        }
        if self.spec.brokers == Brokers::Embedded {
            create_embedded_topic(&self.spec.topic, self.spec.partitions)?;
        } else {
            self.create_on_cluster()?;
        }
        self.done = true;
        Ok(())
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
        let topic = NewTopic::new(&spec.topic, spec.partitions, TopicReplication::Fixed(spec.replication));
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
                Err((name, code)) => {
                    return Err(TransportError(format!("cannot create topic {name} at {bootstrap}: {code}")));
                }
            }
        }
        Ok(())
    }
}
