//! One task per input partition, each with its own transforms and charts
//! (one of each per branch), so a partition and its state move together
//! when a consumer group rebalances (Kafka Streams' tasks). A file or a
//! memory queue is one partition, 0.

use std::collections::BTreeMap;

use crate::config::{BranchSpec, StageSpec, declared};
use crate::plugin_host::StageInstance;
use crate::state::{BranchState, SavedBranch, StageState, TaskCheckpoint, now_ms};

/// One branch's transforms and chart in one partition's task.
pub struct BranchTask {
    /// In chain order: each feeds the next, the last feeds the chart.
    pub transforms: Vec<StageInstance>,
    pub chart: StageInstance,
}

pub struct Task {
    /// In the order of [`Tasks::branches`].
    pub branches: Vec<BranchTask>,
    /// Records of this partition were taken since its last checkpoint.
    pub dirty: bool,
}

/// The tasks of the partitions this consumer holds, and how to build more.
pub struct Tasks {
    pub branches: Vec<BranchSpec>,
    /// Checkpoints key each branch's state by its name (see `PipelineSpec`).
    pub named: bool,
    by_partition: BTreeMap<i32, Task>,
}

/// What a branch's transforms' and chart's state mean, saved with them.
pub type Meanings = (Vec<Option<serde_json::Value>>, Option<serde_json::Value>);

/// Builds a stage from its checked settings.
pub fn build(spec: &StageSpec) -> Result<StageInstance, String> {
    StageInstance::new(spec.plugin.clone(), &spec.type_name, &spec.settings)
        .map_err(|e| format!("cannot build {} {}: {e}", spec.label(), spec.type_name))
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
            spec.label(),
            saved.type_name,
            spec.type_name
        ));
    }
    if let Some(state) = &saved.state {
        stage.restore_state(state).map_err(|e| {
            format!(
                "{} {} cannot read its checkpointed state ({e}); \
                 start over with `buzz reset`, or use the plugin version that saved it",
                spec.label(),
                spec.type_name
            )
        })?;
    }
    Ok(stage)
}

impl BranchSpec {
    pub fn meanings(&self) -> Meanings {
        (self.transforms.iter().map(StageSpec::meaning).collect(), self.chart.meaning())
    }

    fn build(&self) -> Result<BranchTask, String> {
        let transforms = self.transforms.iter().map(build).collect::<Result<_, _>>()?;
        Ok(BranchTask { transforms, chart: build(&self.chart)? })
    }

    /// The branch restored from its part of a checkpoint, each transform
    /// from the state saved at its place in the chain. A state saved under
    /// other state-defining settings is not restored, nor then the state of
    /// the stages it feeds (their input changed meaning); nor is any past a
    /// place where the chain grew or shrank. Says which, and whether any
    /// stage was reset.
    fn install(
        &self,
        saved: SavedBranch<'_>,
        label: &str,
        notes: &mut Vec<String>,
    ) -> Result<(BranchTask, bool), String> {
        // Nothing saved (a new branch, or after `buzz reset`): all start empty.
        let fresh = saved.transforms.is_empty();
        let mut input_changed = false;
        let mut transforms = Vec::new();
        for (place, spec) in self.transforms.iter().enumerate() {
            let state = saved.transforms.get(place).copied();
            let changes = meaning_changes(spec, state);
            if !input_changed && !changes.is_empty() {
                notes.push(format!(
                    "{label}{} {}: {} since the checkpoint",
                    spec.label(),
                    spec.type_name,
                    changes.join(", ")
                ));
            } else if !input_changed && !fresh && state.is_none() {
                notes.push(format!(
                    "{label}{} {}: added to the chain since the checkpoint",
                    spec.label(),
                    spec.type_name
                ));
            }
            let keep = !input_changed && changes.is_empty();
            input_changed |= !changes.is_empty() || (!fresh && state.is_none());
            transforms.push(restore(spec, state.filter(|_| keep))?);
        }
        if !input_changed && saved.transforms.len() > self.transforms.len() {
            notes.push(format!("{label}the chain has fewer transforms than at the checkpoint"));
            input_changed = true;
        }
        let chart_changes = meaning_changes(&self.chart, saved.chart);
        if !chart_changes.is_empty() {
            let chart = &self.chart;
            notes.push(format!(
                "{label}{} {}: {} since the checkpoint",
                chart.label(),
                chart.type_name,
                chart_changes.join(", ")
            ));
        }
        let reset_chart = input_changed || !chart_changes.is_empty();
        let chart = restore(&self.chart, saved.chart.filter(|_| !reset_chart))?;
        Ok((BranchTask { transforms, chart }, reset_chart))
    }
}

impl Tasks {
    pub fn new(branches: Vec<BranchSpec>, named: bool) -> Self {
        Tasks { branches, named, by_partition: BTreeMap::new() }
    }

    /// The partition's task, built empty if this consumer had none.
    pub fn get(&mut self, partition: i32) -> Result<&mut Task, String> {
        if !self.by_partition.contains_key(&partition) {
            let branches = self.branches.iter().map(BranchSpec::build).collect::<Result<_, _>>()?;
            self.by_partition.insert(partition, Task { branches, dirty: false });
        }
        Ok(self.by_partition.get_mut(&partition).expect("inserted above"))
    }

    /// Replaces the partition's task with one restored from a checkpoint;
    /// says which branches' states were reset, if any.
    pub fn install(&mut self, checkpoint: &TaskCheckpoint) -> Result<Vec<String>, String> {
        let mut notes = Vec::new();
        let mut branches = Vec::new();
        let mut dirty = false;
        for spec in &self.branches {
            let label = self.label(spec);
            let (task, reset) = spec.install(checkpoint.branch(&spec.name, self.named), &label, &mut notes)?;
            branches.push(task);
            dirty |= reset;
        }
        self.by_partition.insert(checkpoint.partition, Task { branches, dirty });
        Ok(notes)
    }

    /// `branch NAME: ` before a message about one of several branches.
    pub fn label(&self, spec: &BranchSpec) -> String {
        if self.named { format!("branch {}: ", spec.name) } else { String::new() }
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

    /// Every task's last transform's and chart's state of branch `index`,
    /// for a merged view.
    pub fn states(&mut self, index: usize) -> Result<Vec<(StageState, StageState)>, String> {
        let (transforms, chart) = self.branches[index].meanings();
        let last = transforms.last().cloned().flatten();
        self.by_partition
            .values_mut()
            .map(|t| {
                let b = &mut t.branches[index];
                let transform = b.transforms.last_mut().ok_or("a branch without transforms")?;
                Ok((save(transform, &last)?, save(&mut b.chart, &chart)?))
            })
            .collect()
    }
}

impl Task {
    /// The task's state, standing for everything before `next`.
    pub fn checkpoint(
        &mut self,
        partition: i32,
        next: i64,
        specs: &[BranchSpec],
        named: bool,
    ) -> Result<TaskCheckpoint, String> {
        let mut checkpoint = TaskCheckpoint::empty(partition, next);
        for (spec, branch) in specs.iter().zip(&mut self.branches) {
            let (transform_meanings, chart_meaning) = spec.meanings();
            let mut saved = branch.transforms.iter_mut().zip(&transform_meanings).map(|(t, m)| save(t, m));
            let state = BranchState {
                transform: saved.next().transpose()?,
                chain: saved.collect::<Result<_, _>>()?,
                chart: Some(save(&mut branch.chart, &chart_meaning)?),
            };
            if named {
                checkpoint.branches.insert(spec.name.clone(), state);
            } else {
                (checkpoint.transform, checkpoint.chain, checkpoint.chart) =
                    (state.transform, state.chain, state.chart);
            }
        }
        checkpoint.saved_at_ms = now_ms();
        Ok(checkpoint)
    }
}
