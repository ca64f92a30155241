//! A chart of the whole input, merged from partial states: this consumer's
//! live tasks and the latest checkpoints of partitions other consumers
//! hold. Merging is each stage's business (`merge_state`: counts add, means
//! combine by sum and count, line points union by x). An aggregating
//! transform's merged totals are then re-announced to the merged chart, so
//! a chart of averages shows the merged averages, not their sum.

use crate::plugin_host::{Records, StageInstance};
use crate::state::StageState;

use super::tasks::{Tasks, build};

/// One partition's saved state of a branch's last transform and of its chart.
pub type PartialState<'a> = (Option<&'a StageState>, Option<&'a StageState>);

/// Branch `branch`'s chart holding every partition's data, as one consumer of all of them would.
pub fn merged_chart(tasks: &Tasks, branch: usize, parts: &[PartialState<'_>]) -> Result<StageInstance, String> {
    let spec = &tasks.branches[branch];
    let (transform_meanings, chart_meaning) = spec.meanings();
    // Only the last transform of a chain feeds the chart.
    let transform_meaning = transform_meanings.last().cloned().flatten();
    let mut chart = build(&spec.chart)?;
    fold(&mut chart, &chart_meaning, parts.iter().filter_map(|p| p.1))
        .map_err(|e| format!("cannot merge the partitions' charts: {e}"))?;
    let mut transform = build(spec.transforms.last().ok_or("a branch without transforms")?)?;
    // A transform that keeps no mergeable state (a per-record detector,
    // say) has nothing to re-announce: the charts' merge stands.
    if fold(&mut transform, &transform_meaning, parts.iter().filter_map(|p| p.0)).is_ok() {
        // An empty batch makes an aggregate emit every group it holds.
        let out = transform.process(Records::EMPTY).map_err(|e| format!("the merged transform failed: {e}"))?;
        if !out.records.is_empty() {
            chart.process(out.records).map_err(|e| format!("the merged chart failed: {e}"))?;
        }
    }
    Ok(chart)
}

/// Restores the first state into `stage` and merges the others into it.
fn fold<'a>(
    stage: &mut StageInstance,
    meaning: &Option<serde_json::Value>,
    states: impl Iterator<Item = &'a StageState>,
) -> Result<(), String> {
    let mut first = true;
    let type_name = stage.type_name().to_string();
    // A state saved by another type of stage, or under other state-defining
    // settings (from before a reload), does not describe this one: it is
    // left out.
    for state in states.filter(|s| s.describes(&type_name, meaning)).filter_map(|s| s.state.as_ref()) {
        let result = if first { stage.restore_state(state) } else { stage.merge_state(state) };
        result.map_err(|e| e.to_string())?;
        first = false;
    }
    Ok(())
}
