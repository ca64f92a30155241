//! One task per input partition, each with its own transform and chart, so
//! a partition and its state move together when a consumer group
//! rebalances (Kafka Streams' tasks). A file or a memory queue is one
//! partition, 0.

use std::collections::BTreeMap;

use crate::config::{StageSpec, declared};
use crate::plugin_host::StageInstance;
use crate::state::{FORMAT_VERSION, StageState, TaskCheckpoint, now_ms};

pub struct Task {
    pub transform: StageInstance,
    pub chart: StageInstance,
    /// Records of this partition were taken since its last checkpoint.
    pub dirty: bool,
}

/// The tasks of the partitions this consumer holds, and how to build more.
pub struct Tasks {
    pub transform: StageSpec,
    pub chart: StageSpec,
    by_partition: BTreeMap<i32, Task>,
}

/// What the transform's and the chart's state mean, saved with them.
pub type Meanings = (Option<serde_json::Value>, Option<serde_json::Value>);

/// Builds a stage from its checked settings.
pub fn build(spec: &StageSpec) -> Result<StageInstance, String> {
    StageInstance::new(spec.plugin.clone(), &spec.type_name, &spec.settings)
        .map_err(|e| format!("cannot build {} {}: {e}", spec.section, spec.type_name))
}

/// Saves a stage's state with its type and what it means.
pub fn save(stage: &mut StageInstance, meaning: &Option<serde_json::Value>) -> Result<StageState, String> {
    let state = stage.save_state().map_err(|e| format!("{} cannot save its state: {e}", stage.type_name()))?;
    Ok(StageState { type_name: stage.type_name().to_string(), state, meaning: meaning.clone() })
}

/// How `spec`'s state-defining settings differ from those `saved` was made
/// under (empty if they agree, if the checkpoint predates them, or if it is
/// another type's, which `restore` refuses).
pub fn meaning_changes(spec: &StageSpec, saved: Option<&StageState>) -> Vec<String> {
    match saved.filter(|s| s.type_name == spec.type_name).and_then(|s| s.meaning.as_ref()) {
        Some(saved) if saved.is_object() => declared::meaning_changes(Some(saved), spec.meaning().as_ref()),
        _ => Vec::new(),
    }
}

/// Restores a checkpointed state into a stage built from `spec`. A state
/// saved by another type of stage, or one the plugin cannot read, stops
/// the pipeline: starting that stage empty would silently drop what the
/// checkpoint stands for, so only `buzz reset` does that.
pub fn restore(spec: &StageSpec, saved: Option<&StageState>) -> Result<StageInstance, String> {
    let mut stage = build(spec)?;
    let Some(saved) = saved else { return Ok(stage) };
    if saved.type_name != spec.type_name {
        return Err(format!(
            "the checkpoint holds the state of {} {}, but the pipeline now names {}; \
             change it back, or start over with `buzz reset`",
            spec.section, saved.type_name, spec.type_name
        ));
    }
    if let Some(state) = &saved.state {
        stage.restore_state(state).map_err(|e| {
            format!(
                "{} {} cannot read its checkpointed state ({e}); \
                 start over with `buzz reset`, or use the plugin version that saved it",
                spec.section, spec.type_name
            )
        })?;
    }
    Ok(stage)
}

impl Tasks {
    pub fn new(transform: StageSpec, chart: StageSpec) -> Self {
        Tasks { transform, chart, by_partition: BTreeMap::new() }
    }

    /// The partition's task, built empty if this consumer had none.
    pub fn get(&mut self, partition: i32) -> Result<&mut Task, String> {
        if !self.by_partition.contains_key(&partition) {
            let task = Task { transform: build(&self.transform)?, chart: build(&self.chart)?, dirty: false };
            self.by_partition.insert(partition, task);
        }
        Ok(self.by_partition.get_mut(&partition).expect("inserted above"))
    }

    /// Replaces the partition's task with one restored from a checkpoint.
    /// A state saved under other state-defining settings is not restored
    /// (nor, then, the chart fed from it); says which, if any.
    pub fn install(&mut self, checkpoint: &TaskCheckpoint) -> Result<Vec<String>, String> {
        let transform_changes = meaning_changes(&self.transform, checkpoint.transform.as_ref());
        let chart_changes = meaning_changes(&self.chart, checkpoint.chart.as_ref());
        let reset_chart = !transform_changes.is_empty() || !chart_changes.is_empty();
        let kept = |keep: bool, saved: Option<&StageState>| if keep { saved.cloned() } else { None };
        let task = Task {
            transform: restore(
                &self.transform,
                kept(transform_changes.is_empty(), checkpoint.transform.as_ref()).as_ref(),
            )?,
            chart: restore(&self.chart, kept(!reset_chart, checkpoint.chart.as_ref()).as_ref())?,
            dirty: reset_chart,
        };
        self.by_partition.insert(checkpoint.partition, task);
        let mut notes = Vec::new();
        for (spec, changes) in [(&self.transform, transform_changes), (&self.chart, chart_changes)] {
            if !changes.is_empty() {
                notes.push(format!("{} {}: {} since the checkpoint", spec.section, spec.type_name, changes.join(", ")));
            }
        }
        Ok(notes)
    }

    pub fn meanings(&self) -> Meanings {
        (self.transform.meaning(), self.chart.meaning())
    }

    pub fn remove(&mut self, partition: i32) -> Option<Task> {
        self.by_partition.remove(&partition)
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (i32, &mut Task)> {
        self.by_partition.iter_mut().map(|(p, t)| (*p, t))
    }

    pub fn only(&mut self) -> Option<&mut Task> {
        if self.by_partition.len() == 1 { self.by_partition.values_mut().next() } else { None }
    }

    /// Every task's transform and chart state, for a merged view.
    pub fn states(&mut self) -> Result<Vec<(StageState, StageState)>, String> {
        let (transform, chart) = self.meanings();
        self.by_partition
            .values_mut()
            .map(|t| Ok((save(&mut t.transform, &transform)?, save(&mut t.chart, &chart)?)))
            .collect()
    }
}

impl Task {
    /// The task's state, standing for everything before `next`.
    pub fn checkpoint(&mut self, partition: i32, next: i64, meanings: &Meanings) -> Result<TaskCheckpoint, String> {
        Ok(TaskCheckpoint {
            format: FORMAT_VERSION,
            partition,
            next,
            transform: Some(save(&mut self.transform, &meanings.0)?),
            chart: Some(save(&mut self.chart, &meanings.1)?),
            input: None,
            saved_at_ms: now_ms(),
        })
    }
}
