//! What a pipeline's threads share, in a few named parts: the counts, what
//! the halves and the reloader hand each other, the status viewers read,
//! and each branch's frames and figures. Viewers take all of it at once as
//! a [`Stats`](super::Stats) snapshot.

use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use super::charts::{BranchFrames, Charts};
use super::control::{ReloadReport, ReloadStatus};
use super::counters::Counters;
use super::dead_letters::{DeadLetter, DeadLetters};
use super::refusals::Refusals;
use super::stop::StopToken;
use super::{Role, configuration, lag_limit};
use crate::chart_output::FrameSender;
use crate::config::PipelineSpec;
use crate::plugin_host::WarningSink;
use crate::throttle::Throttle;
use crate::transport::{EndMark, LagLimit, TransportState, TransportStatus, TransportWriter, Unread};

pub struct Shared {
    pub name: String,
    /// Which halves this process runs (what `records_in` counts).
    pub role: Role,
    pub stop: StopToken,
    pub counters: Counters,
    pub dead_letters: DeadLetters,
    pub handover: Handover,
    pub status: Status,
    /// Each branch's frames and figures, in the file's order (one, unnamed,
    /// for a `[transform]` + `[chart]` file; a reload may add and remove
    /// branches).
    pub charts: Charts,
}

/// What the producer, the consumer and the reloader hand each other.
pub struct Handover {
    /// Set by the producer when it is done: how far the consumer must read.
    pub end_mark: Mutex<Option<EndMark>>,
    /// Most records and bytes the producer may be ahead of the consumer
    /// (both in this process); a reload may change the transport.
    pub lag_limit: Mutex<Option<LagLimit>>,
    /// The record check's size limit, which the producer applies too (a
    /// reload may change it).
    pub max_record_bytes: AtomicU64,
    pub reload_times: ReloadStatus,
}

/// How the pipeline is doing, for the summary and the dashboard.
pub struct Status {
    /// How the transport is doing, as the running half last saw it.
    pub transport: Mutex<TransportStatus>,
    /// Why the pipeline stopped on its own with an error, if it did.
    pub failure: Mutex<Option<String>>,
    /// When the state was last checkpointed.
    pub last_checkpoint: Mutex<Option<Instant>>,
    pub last_reload: Mutex<Option<ReloadReport>>,
    /// Each stage's type and settings as now running (changes on reload).
    pub configuration: Mutex<serde_json::Value>,
    /// The latest warning a plugin stage logged (categories folded, ...).
    pub stage_warning: WarningSink,
    /// Why records of any stage are refused.
    pub refusals: Refusals,
}

impl Shared {
    pub fn new(spec: &PipelineSpec, role: Role) -> Shared {
        Shared {
            name: spec.name.clone(),
            role,
            stop: StopToken::default(),
            counters: Counters::default(),
            dead_letters: DeadLetters::new(&spec.dead_letter, &spec.name),
            handover: Handover {
                end_mark: Mutex::new(None),
                lag_limit: Mutex::new(lag_limit(spec, role)),
                max_record_bytes: AtomicU64::new(spec.record_check.max_bytes),
                reload_times: ReloadStatus::default(),
            },
            status: Status {
                transport: Mutex::new(TransportStatus::new(TransportState::Waiting("starting".into()), None)),
                failure: Mutex::new(None),
                last_checkpoint: Mutex::new(None),
                last_reload: Mutex::new(None),
                configuration: Mutex::new(configuration(spec)),
                stage_warning: Default::default(),
                refusals: Refusals::default(),
            },
            charts: Charts::new(
                spec.branches.iter().map(|b| BranchFrames::new(spec.named_branches.then(|| b.name.clone()))).collect(),
            ),
        }
    }

    /// Waits while the producer is too far ahead of the consumer.
    pub(super) fn wait_for_lag(&self, source: &str, writer: &dyn TransportWriter) {
        let Some(limit) = *self.handover.lag_limit.lock().expect("lag limit poisoned") else { return };
        let c = &self.counters;
        let mut waited = false;
        while !self.stop.is_stopped() {
            let Unread { records, bytes } = writer.unread().unwrap_or_else(|| Unread {
                records: Counters::get(&c.produced).saturating_sub(Counters::get(&c.consumed)),
                bytes: Counters::get(&c.produced_bytes).saturating_sub(Counters::get(&c.consumed_bytes)),
            });
            if records < limit.records && bytes < limit.bytes {
                break;
            }
            if !waited {
                tracing::debug!(pipeline = %self.name, "source {source} waits for the consumer ({records} records behind)");
                waited = true;
            }
            self.stop.wait(std::time::Duration::from_millis(1));
        }
    }

    /// Records how the transport is doing (for the dashboard).
    pub fn set_transport(&self, status: TransportStatus) {
        let mut current = self.status.transport.lock().expect("transport status poisoned");
        if *current != status {
            *current = status;
        }
    }

    /// The frames of the first branch (the only one of most pipelines).
    pub fn frames(&self) -> FrameSender {
        self.charts.first()
    }

    /// A record refused before any branch had it (by the source or the
    /// transport's check).
    pub fn dead_letter(&self, letter: DeadLetter<'_>) {
        self.status.refusals.note(refusal(&letter));
        self.dead_letters.write(letter);
        Counters::add(&self.counters.dead_letter, 1);
    }

    /// A record a transform or the chart of `branch` refused: counted for
    /// the pipeline and for the branch, and written with its name.
    pub fn branch_dead_letter(&self, branch: &BranchFrames, letter: DeadLetter<'_>) {
        let figures = &branch.figures;
        let why = refusal(&letter);
        self.status.refusals.note(match &branch.name {
            Some(name) => format!("branch {name}: {why}"),
            None => why.clone(),
        });
        figures.refusals.note(why);
        Counters::add(&figures.dead_letter, 1);
        self.dead_letters.write(letter.in_branch(branch.name.as_deref()));
        Counters::add(&self.counters.dead_letter, 1);
    }

    /// Waits while dead letters cannot be written (a full disk, a folder
    /// made read-only): going on would let a checkpoint pass records kept
    /// nowhere. Shown as the transport retrying, with the reason.
    pub fn wait_for_dead_letters(&self) {
        let mut errors = Throttle::new(Duration::from_secs(5));
        while let Some(why) = self.dead_letters.held() {
            self.set_transport(TransportStatus::new(TransportState::Retrying(why.clone()), None));
            if errors.ready() {
                tracing::error!(pipeline = %self.name, "{why}; nothing more is read or checkpointed until they are written");
            }
            if self.stop.wait(errors.backoff()) {
                tracing::error!(pipeline = %self.name, "stopping with dead letters unwritten ({why}): the saved position stays before them, so they are read again next run");
                return;
            }
        }
        if errors.failures() > 0 {
            tracing::info!(pipeline = %self.name, "dead letters written to {}; going on", self.dead_letters.describe());
        }
    }

    /// Stops the pipeline because it cannot go on correctly.
    pub fn fail(&self, why: String) {
        tracing::error!(pipeline = %self.name, "{why}");
        self.status.failure.lock().expect("failure poisoned").get_or_insert(why);
        self.stop.stop();
    }

    pub fn failed(&self) -> bool {
        self.status.failure.lock().expect("failure poisoned").is_some()
    }

    pub fn checkpointed(&self) {
        Counters::add(&self.counters.checkpoints, 1);
        *self.status.last_checkpoint.lock().expect("checkpoint time poisoned") = Some(Instant::now());
    }
}

/// A dead letter's stage and reason, as the refusing warning gives it.
fn refusal(letter: &DeadLetter<'_>) -> String {
    format!("{} {}: {}", letter.stage, letter.stage_type, letter.reason)
}
