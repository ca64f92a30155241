//! The live dashboard: a web page served by `buzz run` that shows every
//! running pipeline's chart, pushed to the browser over server-sent events
//! as frames are drawn, with the pipeline's counts, rate, dead letters, last
//! reload and transport state beside it; and, for operators, `/metrics`
//! (Prometheus), `/health` and `/ready`.
//!
//! It serves only its own pages and data (no files from disk), binds to
//! loopback unless told otherwise, answers only the host names it should
//! (against DNS rebinding), draws each PNG download once per frame, and
//! never makes a pipeline wait: frames
//! are published on a watch channel, and a slow or vanished viewer only
//! misses intermediate frames.

mod hosts;
mod metrics;
mod pngs;
mod probes;
mod routes;
mod stats;

use std::net::SocketAddr;
use std::sync::Arc;

pub use stats::{PipelineStats, StatsBoard};

use crate::chart_output::ChartFiles;
use crate::pipeline::Shared;

/// A pipeline as the dashboard sees it.
#[derive(Clone)]
pub struct PipelineView {
    pub name: String,
    pub shared: Arc<Shared>,
    pub files: Option<ChartFiles>,
}

/// Binds the dashboard and serves it until the runtime ends, answering
/// only requests for loopback, its own address and `allowed_hosts`.
pub async fn serve(
    addr: SocketAddr,
    pipelines: Vec<PipelineView>,
    allowed_hosts: &[String],
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let board = StatsBoard::start(pipelines.clone());
    let pngs = pngs::Pngs::default();
    let hosts = hosts::AllowedHosts::new(bound, allowed_hosts);
    let metrics = metrics::registry(pipelines.clone());
    let app = routes::router(Arc::new(routes::AppState { pipelines, board, pngs, metrics }), hosts);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("the dashboard stopped: {e}");
        }
    });
    Ok(bound)
}
