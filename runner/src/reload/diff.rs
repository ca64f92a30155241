//! What changed between the running pipeline and its edited file, stage by
//! stage, in words a user can read in the log.

use serde_json::Value as Json;

use crate::config::{BranchSpec, PipelineSpec, StageSpec, declared, secrets};

/// The parts of a pipeline a reload must replace.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PipelineDiff {
    pub name: bool,
    pub source: bool,
    pub transport: bool,
    /// One per branch of the edited file, in its order.
    pub branches: Vec<BranchDiff>,
    /// Running branches the edit removes (a renamed branch is removed and
    /// added).
    pub removed: Vec<String>,
    /// The edit changes the file's shape (`[transform]` and `[chart]` to
    /// `[branches.NAME]` or back): refused while running, the one branch's
    /// state and chart being kept under other keys and names.
    pub branch_set: Option<String>,
    pub dead_letter: bool,
    pub record_check: bool,
    /// Stages whose state no longer means the same (a state-defining
    /// setting changed, or, for the chart, its transform's state was reset):
    /// they start empty instead of carrying their predecessor's state.
    pub reset_source: bool,
    /// One line per change, e.g. `transform stall_detection: threshold 0.2 -> 0.3`.
    pub changes: Vec<String>,
}

impl PipelineDiff {
    pub fn between(old: &PipelineSpec, new: &PipelineSpec) -> PipelineDiff {
        let mut diff = PipelineDiff::default();
        if old.name != new.name {
            diff.name = true;
            diff.changes.push(format!("name {:?} -> {:?}", old.name, new.name));
        }
        let source = stage_changes(&old.source, &new.source, false, &mut diff.changes);
        (diff.source, diff.reset_source) = (source.rebuild, source.reset);
        if old.named_branches != new.named_branches {
            let shape = |named| if named { "[branches.NAME]" } else { "[transform] and [chart]" };
            let change = format!("branches {} -> {}", shape(old.named_branches), shape(new.named_branches));
            diff.branch_set = Some(change.clone());
            diff.changes.push(change);
        } else {
            let named = new.named_branches;
            let position = |name: &str| old.branches.iter().position(|b| b.name == name);
            for branch in &new.branches {
                let branch_diff = match position(&branch.name) {
                    Some(was) => BranchDiff::between(was, &old.branches[was], branch, named, &mut diff.changes),
                    None => BranchDiff::added(branch, &mut diff.changes),
                };
                diff.branches.push(branch_diff);
            }
            for gone in old.branches.iter().filter(|b| !new.branches.iter().any(|n| n.name == b.name)) {
                diff.changes.push(format!("branch {} removed", gone.name));
                diff.removed.push(gone.name.clone());
            }
            let order = |spec: &PipelineSpec| spec.branches.iter().map(|b| b.name.clone()).collect::<Vec<_>>();
            let kept = |spec: &PipelineSpec, other: &PipelineSpec| {
                order(spec).into_iter().filter(|n| other.branches.iter().any(|b| &b.name == n)).collect::<Vec<_>>()
            };
            if kept(old, new) != kept(new, old) {
                diff.changes.push(format!("branches in the order {}", order(new).join(", ")));
            }
        }
        if old.transport != new.transport {
            diff.transport = true;
            diff.changes.push(format!("transport {} -> {}", old.transport.describe(), new.transport.describe()));
        }
        if old.record_check != new.record_check {
            diff.record_check = true;
            diff.changes.push(format!(
                "record check {} -> {}",
                describe_check(&old.record_check),
                describe_check(&new.record_check)
            ));
        }
        if old.dead_letter != new.dead_letter {
            diff.dead_letter = true;
            diff.changes.push(format!("dead letters {} -> {}", old.dead_letter.describe(), new.dead_letter.describe()));
        }
        diff
    }

    /// Some branch's stages or chart output changed, or branches were
    /// added, removed or reordered.
    pub fn branches_changed(&self) -> bool {
        !self.removed.is_empty() || self.branches.iter().enumerate().any(|(i, b)| b.changed() || b.was != Some(i))
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn describe(&self) -> String {
        self.changes.join("; ")
    }
}

/// What changed in one branch.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct BranchDiff {
    /// The running branch it carries on (its index); `None`: added.
    pub was: Option<usize>,
    /// Per transform of the new chain: it must be rebuilt; it starts empty
    /// instead of carrying its predecessor's state.
    pub transforms: Vec<StageDiff>,
    pub chart: StageDiff,
    pub chart_output: bool,
}

/// How one stage changed.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct StageDiff {
    pub rebuild: bool,
    pub reset: bool,
}

impl BranchDiff {
    /// Transforms are matched by place in the chain: a stage's state
    /// stands for what the stages before it gave it, so one whose
    /// predecessors changed meaning (reset, another type, a stage added or
    /// removed before it) starts afresh, and so does the chart after a
    /// chain whose output changed meaning; stages before the change keep theirs.
    fn between(was: usize, old: &BranchSpec, new: &BranchSpec, named: bool, changes: &mut Vec<String>) -> BranchDiff {
        let mut diff = BranchDiff { was: Some(was), ..BranchDiff::default() };
        let mut mine = Vec::new();
        let mut input_changed = false;
        for (place, stage) in new.transforms.iter().enumerate() {
            let change = match old.transforms.get(place) {
                Some(before) => stage_changes(before, stage, input_changed, &mut mine),
                None => {
                    mine.push(format!("{} {} added to the chain (starting afresh)", stage.label(), stage.type_name));
                    StageDiff { rebuild: true, reset: true }
                }
            };
            input_changed |= change.reset;
            diff.transforms.push(change);
        }
        for gone in old.transforms.iter().skip(new.transforms.len()) {
            mine.push(format!("{} {} removed from the chain", gone.label(), gone.type_name));
            input_changed = true;
        }
        diff.chart = stage_changes(&old.chart, &new.chart, input_changed, &mut mine);
        let (a, b) = (&old.chart_output, &new.chart_output);
        if a != b {
            diff.chart_output = true;
            mine.push(format!(
                "chart output {} at most every {:?} -> {} at most every {:?}",
                a.base.display(),
                a.min_frame_interval,
                b.base.display(),
                b.min_frame_interval
            ));
        }
        let prefix = if named { format!("branch {}: ", new.name) } else { String::new() };
        changes.extend(mine.into_iter().map(|change| format!("{prefix}{change}")));
        diff
    }

    /// A branch the edit adds: everything built, starting empty.
    fn added(new: &BranchSpec, changes: &mut Vec<String>) -> BranchDiff {
        let fresh = StageDiff { rebuild: true, reset: true };
        let stages = new.stages().map(|s| s.type_name.as_str()).collect::<Vec<_>>().join(" -> ");
        changes.push(format!("branch {} added ({stages}), charting the records from now on", new.name));
        BranchDiff { was: None, transforms: vec![fresh; new.transforms.len()], chart: fresh, chart_output: true }
    }

    pub fn changed(&self) -> bool {
        self.was.is_none() || self.transforms.iter().any(|t| t.rebuild) || self.chart.rebuild || self.chart_output
    }
}

fn describe_check(check: &crate::config::RecordCheck) -> String {
    let format = if check.json { "json" } else { "bytes" };
    let schema = check.schema.as_ref().map(|s| format!(", schema {}", s.path.display())).unwrap_or_default();
    format!("{format}, at most {} bytes{schema}", check.max_bytes)
}

/// Records how a stage changed; says whether it must be rebuilt and whether
/// its state must be reset (`input_changed`: what it is fed changed meaning).
fn stage_changes(old: &StageSpec, new: &StageSpec, input_changed: bool, changes: &mut Vec<String>) -> StageDiff {
    let section = new.label();
    if old.type_name != new.type_name || old.plugin.name != new.plugin.name {
        changes.push(format!("{section} {} -> {} (a new stage, starting afresh)", old.type_name, new.type_name));
        return StageDiff { rebuild: true, reset: true };
    }
    let reset = input_changed || !declared::meaning_changes(old.meaning().as_ref(), new.meaning().as_ref()).is_empty();
    if old.same_as(new) {
        if reset {
            changes.push(format!("{section} {}: its input changed meaning; its state was reset", new.type_name));
        }
        return StageDiff { rebuild: reset, reset };
    }
    let mut settings = Vec::new();
    if let (Json::Object(a), Json::Object(b)) = (&old.settings, &new.settings) {
        for (key, value) in b {
            match a.get(key) {
                Some(before) if before == value => {}
                Some(_) if secrets::is_secret(key) => settings.push(format!("{key} changed")),
                Some(before) => {
                    settings.push(format!("{key} {} -> {}", secrets::redacted(before), secrets::redacted(value)))
                }
                None => settings.push(format!("{key} = {}", secrets::redacted_value(key, value))),
            }
        }
        for key in a.keys().filter(|k| !b.contains_key(*k)) {
            settings.push(format!("{key} back to its default"));
        }
    }
    if !std::sync::Arc::ptr_eq(&old.plugin, &new.plugin) {
        settings.push(format!("plugin {} rebuilt (version {})", new.plugin.name, new.plugin.version));
    }
    let reset_note = if reset { "; its state was reset" } else { "" };
    changes.push(format!("{section} {}: {}{reset_note}", new.type_name, settings.join(", ")));
    StageDiff { rebuild: true, reset }
}
