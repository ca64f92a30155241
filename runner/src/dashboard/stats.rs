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
            let c = &p.shared.counters;
            let consumed = Counters::get(&c.consumed);
            let records_in = if consumed > 0 || p.files.is_some() { consumed } else { Counters::get(&c.produced) };
            let before = previous.get(i).map_or(records_in, |s| s.records_in);
            let records_per_s =
                if elapsed.is_zero() { 0.0 } else { records_in.saturating_sub(before) as f64 / elapsed.as_secs_f64() };
            PipelineStats {
                pipeline: p.name.clone(),
                records_in,
                records_out: Counters::get(&c.records_out),
                records_per_s,
                dead_letter: Counters::get(&c.dead_letter),
                reloads_applied: Counters::get(&c.reloads_applied),
                reloads_refused: Counters::get(&c.reloads_refused),
                last_reload: p.shared.last_reload.lock().expect("last reload poisoned").clone(),
                transport: p.shared.transport.lock().expect("transport status poisoned").clone(),
                stage_warning: p.shared.stage_warning.lock().expect("warnings poisoned").clone(),
            }
        })
        .collect()
}
