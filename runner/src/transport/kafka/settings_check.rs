//! librdkafka's verdict on the settings a run would give its clients, taken
//! together and without contacting a broker: a TLS file it cannot read, SASL
//! without a user, settings that conflict (`acks` with idempotence). Each
//! key alone was checked as the file loaded (`config::kafka_properties`).

use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, ProducerContext};

use crate::config::KafkaTransport;
use crate::config::secrets::{REDACTED, is_secret};

/// Creates (and drops) the producer and the consumer a run would create,
/// with no brokers named; says why librdkafka refuses either.
pub fn check_client_settings(spec: &KafkaTransport) -> Result<(), String> {
    let unconnected = |mut config: ClientConfig| {
        config.remove("bootstrap.servers");
        config
    };
    let refused = |client: &str, error: KafkaError| {
        let reason = match error {
            KafkaError::ClientCreation(reason) => reason,
            other => other.to_string(),
        };
        let reason = spec
            .properties
            .iter()
            .filter(|(key, value)| is_secret(key) && !value.is_empty())
            .fold(reason, |reason, (_, value)| reason.replace(value.as_str(), REDACTED));
        format!("librdkafka cannot make the {client} with these properties: {reason}")
    };
    let producer = unconnected(super::writer::producer_config(spec, ""));
    producer.create_with_context::<_, BaseProducer<Quiet>>(Quiet).map_err(|e| refused("producer", e))?;
    let consumer = unconnected(super::reader::consumer_config(spec, ""));
    consumer.create_with_context::<_, BaseConsumer<Quiet>>(Quiet).map_err(|e| refused("consumer", e))?;
    Ok(())
}

/// librdkafka's remarks on these throwaway clients ("a producer property,
/// ignored by this consumer") go to the debug log, as a run's do.
struct Quiet;

impl ClientContext for Quiet {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        super::client::log_librdkafka(level, facility, message);
    }
}

impl ProducerContext for Quiet {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &rdkafka::producer::DeliveryResult<'_>, _: ()) {}
}

impl ConsumerContext for Quiet {}
