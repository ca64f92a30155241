//! Once a second, each pipeline's [`Stats`](crate::pipeline::Stats)
//! snapshot, with records per second, is published on a watch channel that
//! every viewer reads.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::watch;

use super::PipelineView;
use crate::pipeline::{BranchStats, ChartStats, ReloadReport};
use crate::transport::TransportStatus;

/// A pipeline's snapshot as `/api/stats` and the panel show it.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineStats {
    pub pipeline: String,
    /// False once the pipeline has stopped (`error` says why, if it failed).
    pub running: bool,
    pub error: Option<String>,
    pub records_in: u64,
    pub records_out: u64,
    pub records_per_s: f64,
    pub dead_letter: u64,
    pub reloads_applied: u64,
    pub reloads_refused: u64,
    pub last_reload: Option<ReloadReport>,
    pub transport: TransportStatus,
    /// The latest warning a plugin stage logged, such as categories folded
    /// into "other".
    pub stage_warning: Option<String>,
    /// Why most records are refused (sent to the dead letters), while they are.
    pub refusing: Option<String>,
    /// Seconds since the state was last checkpointed, if it has been.
    pub checkpoint_age_s: Option<f64>,
    /// The (first) chart's frames, for a pipeline that draws one.
    pub chart: Option<ChartStats>,
    /// Each branch's figures, for a pipeline of `[branches.NAME]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub branches: Vec<BranchStats>,
}

impl PipelineStats {
    /// The pipeline's figures now; `records_per_s` needs an earlier look,
    /// so it is left 0 here.
    pub fn read(p: &PipelineView) -> PipelineStats {
        let stats = p.shared.stats();
        let chart = p.files.as_ref().and(stats.branches.first()).map(|b| b.chart.clone());
        PipelineStats {
            pipeline: p.name.clone(),
            running: stats.running,
            records_in: stats.records_in,
            records_out: stats.records_out,
            records_per_s: 0.0,
            dead_letter: stats.dead_letter,
            reloads_applied: stats.reloads_applied,
            reloads_refused: stats.reloads_refused,
            checkpoint_age_s: stats.checkpoint_age_s,
            chart,
            branches: stats.named_branches().to_vec(),
            error: stats.error,
            last_reload: stats.last_reload,
            transport: stats.transport,
            stage_warning: stats.stage_warning,
            refusing: stats.refusing,
        }
    }
}

/// The latest snapshot of every pipeline.
#[derive(Clone)]
pub struct StatsBoard {
    pub latest: watch::Receiver<Arc<Vec<PipelineStats>>>,
}

impl StatsBoard {
    pub fn start(pipelines: Vec<PipelineView>) -> StatsBoard {
        let (tx, rx) = watch::channel(Arc::new(snapshot(&pipelines, &[], Duration::ZERO)));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            let mut last = Instant::now();
            loop {
                tick.tick().await;
                let previous = tx.borrow().clone();
                let elapsed = last.elapsed();
                last = Instant::now();
                if tx.send(Arc::new(snapshot(&pipelines, &previous, elapsed))).is_err() {
                    return;
                }
            }
        });
        StatsBoard { latest: rx }
    }
}

fn snapshot(pipelines: &[PipelineView], previous: &[PipelineStats], elapsed: Duration) -> Vec<PipelineStats> {
    pipelines
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut stats = PipelineStats::read(p);
            let before = previous.get(i).map_or(stats.records_in, |s| s.records_in);
            if !elapsed.is_zero() {
                stats.records_per_s = stats.records_in.saturating_sub(before) as f64 / elapsed.as_secs_f64();
            }
            stats
        })
        .collect()
}
