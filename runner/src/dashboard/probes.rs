//! `/health` and `/ready`, for orchestrators (Kubernetes probes, load
//! balancers): up, and able to do its work.

use axum::http::StatusCode;

use super::PipelineView;
use super::stats::PipelineStats;

/// The process is up and answering.
pub async fn health() -> (StatusCode, &'static str) {
    (StatusCode::OK, "ok\n")
}

/// 200 when every pipeline runs with its transport connected; else 503
/// with a line per pipeline that is not, saying why.
pub fn ready(pipelines: &[PipelineView]) -> (StatusCode, String) {
    let problems: Vec<String> = pipelines.iter().filter_map(|p| not_ready(&PipelineStats::read(p))).collect();
    if problems.is_empty() {
        (StatusCode::OK, "ready\n".to_string())
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, problems.concat())
    }
}

fn not_ready(stats: &PipelineStats) -> Option<String> {
    let name = &stats.pipeline;
    if !stats.running {
        let why = stats.error.as_deref().unwrap_or("it has stopped");
        return Some(format!("pipeline {name} is not running: {why}\n"));
    }
    let transport = &stats.transport;
    if transport.state != "connected" {
        let detail = transport.detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default();
        return Some(format!("pipeline {name} is not ready: its transport is {}{detail}\n", transport.state));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{TransportState, TransportStatus};

    fn stats(running: bool, error: Option<&str>, transport: TransportState) -> PipelineStats {
        PipelineStats {
            pipeline: "p".into(),
            running,
            error: error.map(Into::into),
            records_in: 0,
            records_out: 0,
            records_per_s: 0.0,
            dead_letter: 0,
            reloads_applied: 0,
            reloads_refused: 0,
            last_reload: None,
            transport: TransportStatus::new(transport, None),
            stage_warning: None,
            refusing: None,
            checkpoint_age_s: None,
            chart: None,
            branches: Vec::new(),
        }
    }

    #[test]
    fn ready_means_running_with_the_transport_connected() {
        assert_eq!(not_ready(&stats(true, None, TransportState::Connected)), None);
        let waiting = TransportState::Waiting("connecting to Kafka at 127.0.0.1:9".into());
        assert_eq!(
            not_ready(&stats(true, None, waiting)).as_deref(),
            Some("pipeline p is not ready: its transport is waiting: connecting to Kafka at 127.0.0.1:9\n")
        );
        let failed = stats(false, Some("cannot restore partition 0: bad"), TransportState::Connected);
        assert_eq!(not_ready(&failed).as_deref(), Some("pipeline p is not running: cannot restore partition 0: bad\n"));
        let stopped = stats(false, None, TransportState::Connected);
        assert_eq!(not_ready(&stopped).as_deref(), Some("pipeline p is not running: it has stopped\n"));
    }
}
