//! Two terminals and no broker installed, as the original apps were run:
//! `--role produce` on the embedded broker hosts it for consumers in other
//! processes and says where it listens in a file only this user can touch
//! (`<runtime dir>/buzz-<uid>/embedded-kafka-<topic>.json`); `--role
//! consume` (or `view`) on the embedded broker finds it there instead of
//! starting an empty broker of its own.
//!
//! librdkafka's mock broker cannot create topics for other processes
//! (it has no CreateTopics), so the host makes the topic and its consumer
//! group's changelog before it says where it is.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::changelog;
use super::embedded::{create_embedded_topic, embedded_bootstrap};
use crate::config::{Brokers, KafkaTransport, TransportSpec};
use crate::transport::TransportError;

/// Which process hosts the embedded broker of a topic, and where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostedBroker {
    pub address: String,
    pub pid: u32,
    pub pipeline: String,
}

/// The Kafka settings of a transport on the embedded broker, the only one
/// hosting concerns (a real cluster is reachable from any process).
pub fn on_embedded_broker(spec: &TransportSpec) -> Option<&KafkaTransport> {
    match spec {
        TransportSpec::Kafka(kafka) if kafka.brokers == Brokers::Embedded => Some(kafka),
        _ => None,
    }
}

fn announcement_path(topic: &str) -> Result<PathBuf, String> {
    Ok(crate::private_dir::shared_dir()?.join(format!("embedded-kafka-{topic}.json")))
}

/// While alive, tells other buzz processes that this one hosts the topic's
/// embedded broker; removes the announcement when dropped.
pub struct Hosting {
    path: PathBuf,
    pub broker: HostedBroker,
}

/// Starts hosting `spec`'s topic on this process's embedded broker.
pub fn host(spec: &KafkaTransport) -> Result<Hosting, TransportError> {
    let address = embedded_bootstrap()?;
    create_embedded_topic(&spec.topic, spec.partitions)?;
    create_embedded_topic(&changelog::topic_name(spec), 1)?;
    let broker = HostedBroker { address, pid: std::process::id(), pipeline: spec.pipeline.clone() };
    let path = announcement_path(&spec.topic).map_err(TransportError)?;
    let bytes = serde_json::to_vec(&broker).expect("announcements encode");
    crate::state::write_durable(&path, &bytes)
        .map_err(|e| TransportError(format!("cannot announce the embedded broker in {}: {e}", path.display())))?;
    Ok(Hosting { path, broker })
}

impl Drop for Hosting {
    fn drop(&mut self) {
        // Only our own announcement: another host may have replaced it.
        if find_in(&self.path).is_some_and(|b| b.pid == self.broker.pid) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The live process hosting `topic`'s embedded broker, if any.
pub fn find(topic: &str) -> Result<Option<HostedBroker>, String> {
    Ok(find_in(&announcement_path(topic)?).filter(|b| b.pid != std::process::id() && alive(b.pid)))
}

fn find_in(path: &std::path::Path) -> Option<HostedBroker> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// True while process `pid` exists.
pub fn alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) else { return false };
    // Signal 0 only checks that the process exists (and may be signalled).
    rustix::process::test_kill_process(pid).is_ok()
}
