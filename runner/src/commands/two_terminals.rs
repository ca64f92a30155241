//! The embedded broker across two terminals (`transport::kafka::hosting`):
//! the producer half hosts it, the consumer half finds it, and a consumer
//! whose host stopped says so and stops cleanly.

use std::time::Duration;

use crate::config::{self, Override, PipelineSpec};
use crate::pipeline::{Role, StopToken};
use crate::plugin_host::Catalog;
use crate::transport::kafka::hosting::{self, HostedBroker, Hosting};

/// How often a consumer looks for its host, and checks it is still there.
const LOOK_EVERY: Duration = Duration::from_millis(250);
/// How often a consumer still waiting for a host says so.
const SAY_EVERY: Duration = Duration::from_secs(5);

/// For a consumer (or view) on the embedded broker: waits until a buzz
/// process hosts its topic, then points the pipeline at that broker with
/// an override, which its hot reloads keep. Other pipelines are left alone.
pub async fn find_host(
    spec: PipelineSpec,
    role: Role,
    overrides: &mut Vec<Override>,
) -> Result<(PipelineSpec, Option<HostedBroker>), String> {
    let embedded = hosting::on_embedded_broker(&spec.transport).filter(|_| matches!(role, Role::Consume | Role::View));
    let Some(topic) = embedded.map(|k| k.topic.as_str()) else {
        return Ok((spec, None));
    };
    let mut said = None::<std::time::Instant>;
    let host = loop {
        if let Some(host) = hosting::find(topic)? {
            break host;
        }
        if said.is_none_or(|t| t.elapsed() >= SAY_EVERY) {
            tracing::warn!(
                pipeline = %spec.name,
                "no buzz process hosts an embedded broker for topic {topic} yet: start the producer half in another terminal \
                 (`buzz run {} --role produce`), or set KAFKA_BROKERS to a real cluster; waiting",
                spec.file.path.display()
            );
            said = Some(std::time::Instant::now());
        }
        tokio::time::sleep(LOOK_EVERY).await;
    };
    tracing::info!(pipeline = %spec.name, "using the embedded broker that buzz process {} hosts at {} (its --role produce)", host.pid, host.address);
    let setting = format!("transport.brokers={}", host.address);
    overrides.push(Override::parse(&setting).map_err(|e| e.to_string())?);
    let spec = config::load(&spec.file.path, overrides, &Catalog::search).map_err(|d| d.to_string())?;
    Ok((spec, Some(host)))
}

/// For a producer alone on the embedded broker: hosts it for consumers in
/// other processes, for as long as the returned value lives.
pub fn host(spec: &PipelineSpec, role: Role) -> Option<Hosting> {
    let kafka = hosting::on_embedded_broker(&spec.transport).filter(|_| role == Role::Produce)?;
    match hosting::host(kafka) {
        Ok(hosting) => {
            tracing::info!(
                pipeline = %spec.name,
                "hosting the embedded broker at {} for consumers in other processes: `buzz run {} --role consume` in another terminal finds it",
                hosting.broker.address,
                spec.file.path.display()
            );
            Some(hosting)
        }
        Err(e) => {
            tracing::warn!(pipeline = %spec.name, "consumers in other processes cannot find this embedded broker: {e}");
            None
        }
    }
}

/// Stops the pipelines once a host they use is gone: its broker, and every
/// record it held, went with its process, so nothing more can arrive.
pub fn watch_hosts(hosts: Vec<HostedBroker>, tokens: Vec<StopToken>) {
    if hosts.is_empty() {
        return;
    }
    std::thread::spawn(move || {
        loop {
            if let Some(gone) = hosts.iter().find(|h| !hosting::alive(h.pid)) {
                tracing::warn!(
                    "the embedded broker at {} is gone: buzz process {} that hosted it stopped, and the records it held went with it; stopping",
                    gone.address,
                    gone.pid
                );
                tokens.iter().for_each(StopToken::stop);
                return;
            }
            std::thread::sleep(LOOK_EVERY);
        }
    });
}
