//! Applying an edited pipeline file to the running pipeline: everything is
//! parsed, checked and built first; only then are the changed parts handed
//! to the pipeline's threads, which carry state over and lose nothing. An
//! invalid edit is refused and the old pipeline keeps running.

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use super::diff::PipelineDiff;
use crate::config::{self, Override, PipelineSpec, StageSpec};
use crate::pipeline::{self, BranchFrames, BranchSwap, ConsumerSwap, Counters, PipelineHandle, ReloadReport};
use crate::plugin_host::Catalog;
use crate::transport;

/// What a reload did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Applied(String),
    Refused(String),
    /// Nothing that matters changed (same text, or only comments).
    Unchanged,
}

pub struct Reloader {
    path: PathBuf,
    overrides: Vec<Override>,
    spec: PipelineSpec,
    handle: PipelineHandle,
    /// The text of the last version tried, applied or refused.
    last_text: Option<String>,
}

impl Reloader {
    pub fn new(path: &Path, overrides: &[Override], spec: PipelineSpec, handle: PipelineHandle) -> Self {
        let last_text = std::fs::read_to_string(path).ok();
        Reloader { path: path.to_path_buf(), overrides: overrides.to_vec(), spec, handle, last_text }
    }

    pub fn spec(&self) -> &PipelineSpec {
        &self.spec
    }

    /// Re-reads the pipeline file (and picks up rebuilt plugins) and applies
    /// what changed. `noticed` is when the change was seen (for timing);
    /// `force` reloads even if the file's text is the same (a plugin changed).
    pub fn reload(&mut self, noticed: Instant, force: bool) -> Outcome {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            // Mid-save (a rename-style save removes the file briefly): the
            // next event brings the new file.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Outcome::Unchanged,
            Err(e) => {
                return self.refuse(format!("{}: cannot read the pipeline file: {e}", self.path.display()), noticed);
            }
        };
        if !force && self.last_text.as_deref() == Some(text.as_str()) {
            tracing::debug!(pipeline = %self.spec.name, "pipeline file saved with the same text");
            return Outcome::Unchanged;
        }
        self.last_text = Some(text);
        let shared = self.handle.shared().clone();
        shared.handover.reload_times.triggered(noticed);
        let new = match config::load(&self.path, &self.overrides, &Catalog::search) {
            Ok(spec) => spec,
            Err(diagnostics) => return self.refuse(diagnostics.to_string(), noticed),
        };
        let diff = PipelineDiff::between(&self.spec, &new);
        if diff.is_empty() {
            tracing::debug!(pipeline = %self.spec.name, "pipeline file saved with no change that matters");
            return Outcome::Unchanged;
        }
        if diff.name {
            return self.refuse(
                format!("{}: `name` cannot change while the pipeline runs (it names its outputs); restart buzz to rename it", self.path.display()),
                noticed,
            );
        }
        if let Some(change) = &diff.branch_set {
            return self.refuse(
                format!("{}: {change}: a pipeline cannot change between one [transform] and [chart] and named [branches.NAME] while it runs (its state and chart are kept under other names); restart buzz", self.path.display()),
                noticed,
            );
        }
        if diff.dead_letter
            && let Err(diagnostics) = pipeline::check_dead_letters(&new)
        {
            return self.refuse(diagnostics.to_string(), noticed);
        }
        if let Err(message) = self.apply(&new, &diff) {
            return self.refuse(message, noticed);
        }
        shared.dead_letters.set_target(&new.dead_letter);
        shared.handover.max_record_bytes.store(new.record_check.max_bytes, std::sync::atomic::Ordering::Relaxed);
        *shared.handover.lag_limit.lock().expect("lag limit poisoned") = pipeline::lag_limit(&new, self.handle.role());
        *shared.status.configuration.lock().expect("configuration poisoned") = pipeline::configuration(&new);
        self.spec = new;
        Counters::add(&shared.counters.reloads_applied, 1);
        let elapsed_ms = noticed.elapsed().as_secs_f64() * 1000.0;
        let what = diff.describe();
        tracing::info!(pipeline = %self.spec.name, "reload applied in {elapsed_ms:.0} ms: {what}");
        *shared.status.last_reload.lock().expect("last reload poisoned") =
            Some(ReloadReport { applied: true, message: what.clone(), elapsed_ms, at: SystemTime::now() });
        Outcome::Applied(what)
    }

    /// Counts and reports a refused reload; the running pipeline is untouched.
    pub fn refuse(&self, message: String, noticed: Instant) -> Outcome {
        let shared = self.handle.shared();
        Counters::add(&shared.counters.reloads_refused, 1);
        tracing::error!(pipeline = %self.spec.name, "reload refused, the running pipeline is unchanged:\n{message}");
        let elapsed_ms = noticed.elapsed().as_secs_f64() * 1000.0;
        *shared.status.last_reload.lock().expect("last reload poisoned") =
            Some(ReloadReport { applied: false, message: message.clone(), elapsed_ms, at: SystemTime::now() });
        Outcome::Refused(message)
    }

    /// Builds the changed parts, then hands them to the threads, all or
    /// nothing: the consumer takes its parts first and holds them; then the
    /// producer applies its own (saying where the old transport ended); only
    /// then does the consumer apply its parts. Either half failing to take
    /// its parts in time withdraws them, and nothing changes.
    fn apply(&self, new: &PipelineSpec, diff: &PipelineDiff) -> Result<(), String> {
        let role = self.handle.role();
        let build = |stage: &StageSpec| pipeline::build_stage(new, stage).map_err(|d| d.to_string());
        let open_reader = || transport::open_reader(&new.transport).map_err(|e| format!("transport: {e}"));
        let open_writer = || transport::open_writer(&new.transport).map_err(|e| format!("transport: {e}"));

        // Build everything before touching the running pipeline.
        let source = (role.produces() && diff.source)
            .then(|| build(&new.source).map(|source| (source, new.source.meaning())))
            .transpose()?;
        let writer = (role.produces() && diff.transport).then(open_writer).transpose()?;
        // The consumer builds a transform and a chart per partition; one of
        // each is built here to check the new settings before anything changes.
        let mut branches = Vec::new();
        let mut charts = Vec::new();
        if role.consumes() && diff.branches_changed() {
            let running = self.handle.shared().charts.list();
            for (spec, change) in new.branches.iter().zip(&diff.branches) {
                let stage =
                    |changed: bool, stage: &StageSpec| changed.then(|| build(stage).map(|_| stage.clone())).transpose();
                // An added branch gets frames of its own, a running one keeps its.
                let chart = match change.was {
                    Some(was) => running[was].clone(),
                    None => BranchFrames::new(new.named_branches.then(|| spec.name.clone())),
                };
                let transforms = spec.transforms.iter().zip(&change.transforms);
                branches.push(BranchSwap {
                    spec: spec.clone(),
                    was: change.was,
                    transforms: transforms.map(|(t, c)| stage(c.rebuild, t)).collect::<Result<_, _>>()?,
                    chart: stage(change.chart.rebuild, &spec.chart)?,
                    reset_transforms: change.transforms.iter().map(|t| t.reset).collect(),
                    reset_chart: change.chart.reset,
                    writer: change.chart_output.then(|| pipeline::start_writer(new, spec, &chart)).transpose()?,
                    entry: chart.clone(),
                });
                charts.push(chart);
            }
        }
        let reader = (role.consumes() && diff.transport).then(open_reader).transpose()?;
        let gate =
            (role.consumes() && diff.record_check).then(|| pipeline::RecordGate::new(&new.record_check)).transpose()?;
        let consumer = if !branches.is_empty() || reader.is_some() || gate.is_some() {
            let frame_interval = diff.branches_changed().then(|| pipeline::min_frame_interval(new));
            Some(self.handle.offer_consumer(|go, done| ConsumerSwap {
                branches,
                reader,
                frame_interval,
                gate,
                go,
                done,
            })?)
        } else {
            None
        };
        // On `Err` from here the consumer's taken parts are dropped with it.
        let mut drain_to = None;
        if source.is_some() || writer.is_some() {
            if self.handle.producer_running() {
                drain_to = self.handle.swap_producer(source, diff.reset_source, writer)?;
            } else if let Some(source) = source {
                // The old source was exhausted: the new one starts a new run.
                let writer = match writer {
                    Some(writer) => writer,
                    None => open_writer()?,
                };
                self.handle.restart_producer(source, writer)?;
            }
        }
        if let Some(taken) = consumer {
            taken.apply(drain_to)?;
        }
        if !charts.is_empty() {
            // Viewers see added branches and lose removed ones.
            self.handle.shared().charts.replace(charts);
        }
        Ok(())
    }
}
