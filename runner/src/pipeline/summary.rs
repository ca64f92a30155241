//! The JSON summary written on exit (`--summary PATH`).

use serde::Serialize;

use super::control::ReloadReport;
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
    pub frames: u64,
    pub elapsed_s: f64,
    /// The (first) chart's files.
    pub chart: Option<ChartFiles>,
    /// Every branch's chart files, in the file's order, when there are several.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub charts: Vec<ChartFiles>,
    /// Where the dead letters went (a file, or a Kafka topic).
    pub dead_letter_output: String,
    /// Each stage's type and settings as running at the end (after reloads).
    pub configuration: serde_json::Value,
}
