//! The JSON summary written on exit (`--summary PATH`).

use serde::Serialize;

use super::control::ReloadReport;
use super::stats::{BranchStats, Stats};
use crate::chart_output::ChartFiles;

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub pipeline: String,
    pub role: &'static str,
    /// Records that entered this process's half of the pipeline: read from
    /// the transport (consumer or both), or made by the source (producer).
    pub records_in: u64,
    /// Records the transform took without error; they reached the chart.
    pub records_out: u64,
    /// Entries in the dead-letter output.
    pub dead_letter: u64,
    pub produced: u64,
    pub consumed: u64,
    pub reloads_applied: u64,
    pub reloads_refused: u64,
    /// Checkpoints saved (state with its position).
    pub checkpoints: u64,
    /// Why the pipeline stopped with an error, if it did.
    pub error: Option<String>,
    /// The latest reload: applied, or refused with its error.
    pub last_reload: Option<ReloadReport>,
    /// Frames drawn, by all the charts.
    pub frames: u64,
    pub elapsed_s: f64,
    /// The (first) chart's files.
    pub chart: Option<ChartFiles>,
    /// Every branch's chart files, in the file's order, when there are several.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub charts: Vec<ChartFiles>,
    /// Each branch's figures, when the file names its branches and this
    /// process draws their charts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub branches: Vec<BranchStats>,
    /// Where the dead letters went (a file, or a Kafka topic).
    pub dead_letter_output: String,
    /// Each stage's type and settings as running at the end (after reloads).
    pub configuration: serde_json::Value,
}

impl Summary {
    /// The run's last snapshot, with what only the end knows.
    pub fn new(stats: Stats, files: &[ChartFiles], elapsed_s: f64, dead_letter_output: String) -> Summary {
        let branches = if stats.role.consumes() { stats.named_branches().to_vec() } else { Vec::new() };
        let frames = stats.frames();
        Summary {
            role: stats.role.name(),
            records_in: stats.records_in,
            records_out: stats.records_out,
            dead_letter: stats.dead_letter,
            produced: stats.produced,
            consumed: stats.consumed,
            reloads_applied: stats.reloads_applied,
            reloads_refused: stats.reloads_refused,
            checkpoints: stats.checkpoints,
            last_reload: stats.last_reload,
            frames,
            elapsed_s,
            chart: files.first().cloned(),
            charts: if files.len() > 1 { files.to_vec() } else { Vec::new() },
            branches,
            dead_letter_output,
            pipeline: stats.pipeline,
            error: stats.error,
            configuration: stats.configuration,
        }
    }
}
