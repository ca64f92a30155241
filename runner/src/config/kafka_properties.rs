//! Kafka client `properties`, checked by librdkafka itself as the file is
//! loaded: a misspelt name or a value librdkafka refuses is an error at that
//! key's `file:line:col`, not a client that fails (or ignores it) later.

use rdkafka::ClientConfig;
use rdkafka::error::KafkaError;

use super::diagnostics::{Diagnostic, SourceFile};
use super::document::{Node, Table};
use super::secrets;

/// librdkafka properties that buzz sets from its own settings.
const OWN_SETTINGS: [(&str, &str); 3] =
    [("bootstrap.servers", "brokers"), ("metadata.broker.list", "brokers"), ("group.id", "group")];

/// One diagnostic per property of `properties` (the node of
/// `[section] properties`) that librdkafka refuses, at its key. A value
/// that is not text (see `Node::as_text`) is left to the schema check.
pub fn check(file: &SourceFile, section: &str, properties: Option<&Node>) -> Vec<Diagnostic> {
    let Some(Table { entries }) = properties.and_then(Node::as_table) else { return Vec::new() };
    entries
        .iter()
        .filter_map(|entry| {
            let problem = refusal(&entry.key, &entry.node.as_text()?)?;
            Some(file.error(&entry.key_origin, format!("{section}.properties.\"{}\": {problem}", entry.key)))
        })
        .collect()
}

/// What is wrong with the property `key = value`, if anything.
pub fn refusal(key: &str, value: &str) -> Option<String> {
    if let Some((_, setting)) = OWN_SETTINGS.iter().find(|(own, _)| *own == key) {
        return Some(format!("buzz sets {key} from the transport's `{setting}`; set that instead"));
    }
    let reason = match ClientConfig::new().set(key, value).create_native_config() {
        Ok(_) => return None,
        Err(KafkaError::ClientConfig(_, reason, ..)) => reason,
        Err(other) => other.to_string(),
    };
    // librdkafka quotes some refused values and not others: show the value
    // unless it is a secret.
    let reason = match secrets::is_secret(key) {
        true if !value.is_empty() => reason.replace(value, secrets::REDACTED),
        false if !reason.contains(value) => format!("{reason} (the value is {value:?})"),
        _ => reason,
    };
    Some(format!("librdkafka refuses it: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn librdkafka_judges_names_and_values() {
        assert_eq!(refusal("sasl.mechanism", "SCRAM-SHA-512"), None);
        assert_eq!(refusal("security.protocol", "SASL_SSL"), None, "built with TLS");
        assert_eq!(refusal("compression.type", "zstd"), None, "built with zstd");
        let unknown = refusal("sasl.mechanisms.typo", "PLAIN").unwrap();
        assert!(unknown.contains("No such configuration property"), "{unknown}");
        let invalid = refusal("session.timeout.ms", "soon").unwrap();
        assert!(invalid.contains("Invalid value"), "{invalid}");
        assert!(refusal("group.id", "g").unwrap().contains("`group`"));
    }
}
