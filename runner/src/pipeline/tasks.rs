//! One task per input partition, each with its own transform and chart, so
//! a partition and its state move together when a consumer group
//! rebalances (Kafka Streams' tasks). A file or a memory queue is one
//! partition, 0.

use std::collections::BTreeMap;

use crate::config::StageSpec;
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

/// Builds a stage from its checked settings.
pub fn build(spec: &StageSpec) -> Result<StageInstance, String> {
    StageInstance::new(spec.plugin.clone(), &spec.type_name, &spec.settings)
        .map_err(|e| format!("cannot build {} {}: {e}", spec.section, spec.type_name))
}

/// Saves a stage's state with its type.
pub fn save(stage: &mut StageInstance) -> Result<StageState, String> {
    let state = stage.save_state().map_err(|e| format!("{} cannot save its state: {e}", stage.type_name()))?;
    Ok(StageState { type_name: stage.type_name().to_string(), state })
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
    pub fn install(&mut self, checkpoint: &TaskCheckpoint) -> Result<(), String> {
        let task = Task {
            transform: restore(&self.transform, checkpoint.transform.as_ref())?,
            chart: restore(&self.chart, checkpoint.chart.as_ref())?,
            dirty: false,
        };
        self.by_partition.insert(checkpoint.partition, task);
        Ok(())
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
        self.by_partition.values_mut().map(|t| Ok((save(&mut t.transform)?, save(&mut t.chart)?))).collect()
    }
}

impl Task {
    /// The task's state, standing for everything before `next`.
    pub fn checkpoint(&mut self, partition: i32, next: i64) -> Result<TaskCheckpoint, String> {
        Ok(TaskCheckpoint {
            format: FORMAT_VERSION,
            partition,
            next,
            transform: Some(save(&mut self.transform)?),
            chart: Some(save(&mut self.chart)?),
            input: None,
            saved_at_ms: now_ms(),
        })
    }
}
