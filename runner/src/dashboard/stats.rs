//! Once a second, each pipeline's counts become a snapshot (with records
//! per second) that every viewer reads from a watch channel.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::watch;

use super::PipelineView;
use crate::pipeline::{Counters, ReloadReport};
use crate::transport::TransportStatus;

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
    /// The chart's frames, for a pipeline that draws one.
    pub chart: Option<ChartStats>,
}

/// What drawing a pipeline's chart costs.
#[derive(Debug, Clone, Serialize)]
pub struct ChartStats {
    /// The chart stage's type (`bar_chart`, ...).
    #[serde(rename = "type")]
    pub type_name: String,
    /// Frames drawn (SVG) and published, across reloads.
    pub frames_drawn: u64,
    /// Seconds the latest frame took to draw and write, and all of them.
    pub last_draw_s: f64,
    pub draw_s_total: f64,
}

impl PipelineStats {
    /// The pipeline's figures now; `records_per_s` needs an earlier look,
    /// so it is left 0 here.
    pub fn read(p: &PipelineView) -> PipelineStats {
        let shared = &p.shared;
        let c = &shared.counters;
        let consumed = Counters::get(&c.consumed);
        let error = shared.failure.lock().expect("failure poisoned").clone();
        let checkpointed = *shared.last_checkpoint.lock().expect("checkpoint time poisoned");
        PipelineStats {
            pipeline: p.name.clone(),
            running: !shared.stop.is_stopped() && error.is_none(),
            error,
            records_in: if consumed > 0 || p.files.is_some() { consumed } else { Counters::get(&c.produced) },
            records_out: Counters::get(&c.records_out),
            records_per_s: 0.0,
            dead_letter: Counters::get(&c.dead_letter),
            reloads_applied: Counters::get(&c.reloads_applied),
            reloads_refused: Counters::get(&c.reloads_refused),
            last_reload: shared.last_reload.lock().expect("last reload poisoned").clone(),
            transport: shared.transport.lock().expect("transport status poisoned").clone(),
            stage_warning: shared.stage_warning.lock().expect("warnings poisoned").clone(),
            refusing: shared.refusing.lock().expect("refusing poisoned").clone(),
            checkpoint_age_s: checkpointed.map(|at| at.elapsed().as_secs_f64()),
            chart: p.files.as_ref().map(|_| chart_stats(p)),
        }
    }
}

fn chart_stats(p: &PipelineView) -> ChartStats {
    let configuration = p.shared.configuration.lock().expect("configuration poisoned");
    // A pipeline of several branches is counted by its first chart.
    let first = configuration["branches"].as_object().and_then(|b| b.values().next());
    let chart = first.map_or(&configuration["chart"], |b| &b["chart"]);
    let type_name = chart["type"].as_str().unwrap_or_default().to_string();
    let frames = p.shared.frames();
    let frame = frames.borrow();
    let (frames_drawn, last, total) =
        frame.as_ref().map_or((0, Duration::ZERO, Duration::ZERO), |f| (f.sequence, f.draw_time, f.draw_time_total));
    ChartStats { type_name, frames_drawn, last_draw_s: last.as_secs_f64(), draw_s_total: total.as_secs_f64() }
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
