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
    /// One per branch, in order (when the branches are the same ones).
    pub branches: Vec<BranchDiff>,
    /// The edit adds, removes, renames or reorders branches (or changes the
    /// file's shape): refused while running, each branch's state and chart
    /// output being keyed by its name.
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
        (diff.source, diff.reset_source) = stage_changes(&old.source, &new.source, false, &mut diff.changes);
        let names = |spec: &PipelineSpec| {
            (spec.named_branches, spec.branches.iter().map(|b| b.name.clone()).collect::<Vec<_>>())
        };
        if names(old) != names(new) {
            let list = |spec: &PipelineSpec| match spec.named_branches {
                true => spec.branches.iter().map(|b| b.name.as_str()).collect::<Vec<_>>().join(", "),
                false => "[transform] and [chart]".to_string(),
            };
            let change = format!("branches {} -> {}", list(old), list(new));
            diff.branch_set = Some(change.clone());
            diff.changes.push(change);
        } else {
            let named = new.named_branches;
            diff.branches = old
                .branches
                .iter()
                .zip(&new.branches)
                .map(|(a, b)| BranchDiff::between(a, b, named, &mut diff.changes))
                .collect();
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

    /// Some branch's stages or chart output changed.
    pub fn branches_changed(&self) -> bool {
        self.branches.iter().any(BranchDiff::changed)
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
    pub transform: bool,
    pub chart: bool,
    pub chart_output: bool,
    /// The stage starts empty instead of carrying its predecessor's state.
    pub reset_transform: bool,
    pub reset_chart: bool,
}

impl BranchDiff {
    fn between(old: &BranchSpec, new: &BranchSpec, named: bool, changes: &mut Vec<String>) -> BranchDiff {
        let mut diff = BranchDiff::default();
        let mut mine = Vec::new();
        (diff.transform, diff.reset_transform) = stage_changes(&old.transform, &new.transform, false, &mut mine);
        // A chart fed by a transform that starts over (reset, or another
        // type) would mix what the old and the new records mean.
        let input_changed = diff.reset_transform || old.transform.type_name != new.transform.type_name;
        (diff.chart, diff.reset_chart) = stage_changes(&old.chart, &new.chart, input_changed, &mut mine);
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

    pub fn changed(&self) -> bool {
        self.transform || self.chart || self.chart_output
    }
}

fn describe_check(check: &crate::config::RecordCheck) -> String {
    let format = if check.json { "json" } else { "bytes" };
    let schema = check.schema.as_ref().map(|s| format!(", schema {}", s.path.display())).unwrap_or_default();
    format!("{format}, at most {} bytes{schema}", check.max_bytes)
}

/// Records how a stage changed; says whether it must be rebuilt and whether
/// its state must be reset (`input_changed`: what it is fed changed meaning).
fn stage_changes(old: &StageSpec, new: &StageSpec, input_changed: bool, changes: &mut Vec<String>) -> (bool, bool) {
    let section = new.section;
    if old.type_name != new.type_name || old.plugin.name != new.plugin.name {
        changes.push(format!("{section} {} -> {} (a new stage, starting afresh)", old.type_name, new.type_name));
        return (true, true);
    }
    let reset = input_changed || !declared::meaning_changes(old.meaning().as_ref(), new.meaning().as_ref()).is_empty();
    if old.same_as(new) {
        if reset {
            changes.push(format!("{section} {}: its input changed meaning; its state was reset", new.type_name));
        }
        return (reset, reset);
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
    (true, reset)
}
