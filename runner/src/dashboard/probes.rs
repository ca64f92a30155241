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
