//! One snapshot of a pipeline's figures, taken from what its threads share
//! in one place, with one formula for each figure: the run summary,
//! `/api/stats`, the dashboard's panel and `/metrics` all show this.

use std::time::Duration;

use serde::Serialize;

use super::Role;
use super::charts::BranchFrames;
use super::control::ReloadReport;
use super::counters::Counters;
use super::shared::Shared;
use crate::transport::TransportStatus;

#[derive(Debug, Clone)]
pub struct Stats {
    pub pipeline: String,
    pub role: Role,
    /// False once the pipeline has stopped (`error` says why, if it failed).
    pub running: bool,
    pub error: Option<String>,
    /// Records that entered this process's half of the pipeline: read from
    /// the transport (consumer or both), or made by the source (producer).
    pub records_in: u64,
    /// Records every branch's transform took without error.
    pub records_out: u64,
    /// Entries in the dead-letter output, from any stage.
    pub dead_letter: u64,
    pub produced: u64,
    pub consumed: u64,
    pub reloads_applied: u64,
    pub reloads_refused: u64,
    /// Checkpoints saved (state with its position).
    pub checkpoints: u64,
    /// Seconds since the state was last checkpointed, if it has been.
    pub checkpoint_age_s: Option<f64>,
    /// The latest reload: applied, or refused with its error.
    pub last_reload: Option<ReloadReport>,
    pub transport: TransportStatus,
    /// The latest warning a plugin stage logged, such as categories folded
    /// into "other".
    pub stage_warning: Option<String>,
    /// Why most records are refused (sent to the dead letters), while they are.
    pub refusing: Option<String>,
    /// Each stage's type and settings as now running (after reloads).
    pub configuration: serde_json::Value,
    /// Each running branch's figures, in the file's order.
    pub branches: Vec<BranchStats>,
}

/// One branch's figures.
#[derive(Debug, Clone, Serialize)]
pub struct BranchStats {
    /// `None` for the one branch of a `[transform]` + `[chart]` file.
    pub name: Option<String>,
    /// Records its transform took without error: they reached its chart.
    pub records_out: u64,
    /// Records its transform or chart sent to the dead letters.
    pub dead_letter: u64,
    /// Why most records are refused by its stages, while they are.
    pub refusing: Option<String>,
    pub chart: ChartStats,
}

/// What drawing a branch's chart costs.
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

impl Stats {
    /// Frames drawn by all the branches' charts.
    pub fn frames(&self) -> u64 {
        self.branches.iter().map(|b| b.chart.frames_drawn).sum()
    }

    /// The branches, when the file names them (`[branches.NAME]`); none
    /// for a `[transform]` + `[chart]` file, whose figures are the pipeline's.
    pub fn named_branches(&self) -> &[BranchStats] {
        if self.branches.iter().any(|b| b.name.is_some()) { &self.branches } else { &[] }
    }
}

impl Shared {
    /// The pipeline's figures now.
    pub fn stats(&self) -> Stats {
        let c = &self.counters;
        let (produced, consumed) = (Counters::get(&c.produced), Counters::get(&c.consumed));
        let status = &self.status;
        let error = status.failure.lock().expect("failure poisoned").clone();
        let checkpointed = *status.last_checkpoint.lock().expect("checkpoint time poisoned");
        let configuration = status.configuration.lock().expect("configuration poisoned").clone();
        Stats {
            pipeline: self.name.clone(),
            role: self.role,
            running: !self.stop.is_stopped() && error.is_none(),
            error,
            records_in: if self.role.consumes() { consumed } else { produced },
            records_out: Counters::get(&c.records_out),
            dead_letter: Counters::get(&c.dead_letter),
            produced,
            consumed,
            reloads_applied: Counters::get(&c.reloads_applied),
            reloads_refused: Counters::get(&c.reloads_refused),
            checkpoints: Counters::get(&c.checkpoints),
            checkpoint_age_s: checkpointed.map(|at| at.elapsed().as_secs_f64()),
            last_reload: status.last_reload.lock().expect("last reload poisoned").clone(),
            transport: status.transport.lock().expect("transport status poisoned").clone(),
            stage_warning: status.stage_warning.lock().expect("warnings poisoned").clone(),
            refusing: status.refusals.refusing(),
            branches: self.charts.list().iter().map(|b| branch_stats(b, &configuration)).collect(),
            configuration,
        }
    }
}

fn branch_stats(branch: &BranchFrames, configuration: &serde_json::Value) -> BranchStats {
    let stages = match &branch.name {
        Some(name) => &configuration["branches"][name],
        None => configuration,
    };
    let frame = branch.frames.borrow();
    let (frames_drawn, last, total) =
        frame.as_ref().map_or((0, Duration::ZERO, Duration::ZERO), |f| (f.sequence, f.draw_time, f.draw_time_total));
    BranchStats {
        name: branch.name.clone(),
        records_out: Counters::get(&branch.figures.records_out),
        dead_letter: Counters::get(&branch.figures.dead_letter),
        refusing: branch.figures.refusals.refusing(),
        chart: ChartStats {
            type_name: stages["chart"]["type"].as_str().unwrap_or_default().to_string(),
            frames_drawn,
            last_draw_s: last.as_secs_f64(),
            draw_s_total: total.as_secs_f64(),
        },
    }
}
