//! The branches' chart frames and figures, as a list that a reload adding
//! or removing branches replaces. Published on a `watch` channel, so the dashboard
//! learns of a new branch (or of one gone) at once, without polling, and
//! never holds the pipeline up.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::watch;

use super::refusals::Refusals;
use crate::chart_output::FrameSender;

/// A branch's name, its chart's drawn frames and its figures.
#[derive(Clone)]
pub struct BranchFrames {
    /// Tells this branch from one that replaced it under the same name.
    pub id: u64,
    /// `None` for the one branch of a `[transform]` + `[chart]` file.
    pub name: Option<String>,
    pub frames: FrameSender,
    /// Shared by the clones: the consumer counts, viewers read.
    pub figures: Arc<BranchFigures>,
}

/// What one branch's stages did, for the stats.
#[derive(Default)]
pub struct BranchFigures {
    /// Records its transform took without error: they reached its chart.
    pub records_out: AtomicU64,
    /// Records its transforms or chart sent to the dead letters.
    pub dead_letter: AtomicU64,
    pub refusals: Refusals,
}

impl BranchFrames {
    pub fn new(name: Option<String>) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        BranchFrames { id, name, frames: FrameSender::new(None), figures: Arc::default() }
    }
}

/// Every branch's frames and figures, in the file's order: the one list
/// of the running branches.
pub struct Charts(watch::Sender<Vec<BranchFrames>>);

impl Charts {
    pub fn new(branches: Vec<BranchFrames>) -> Self {
        Charts(watch::Sender::new(branches))
    }

    /// The branches as they are now.
    pub fn list(&self) -> Vec<BranchFrames> {
        self.0.borrow().clone()
    }

    /// The list now and each new one a reload publishes.
    pub fn subscribe(&self) -> watch::Receiver<Vec<BranchFrames>> {
        self.0.subscribe()
    }

    /// Publishes the branches as a reload left them.
    pub fn replace(&self, branches: Vec<BranchFrames>) {
        self.0.send_replace(branches);
    }

    /// The frames of the first branch (the only one of most pipelines).
    pub fn first(&self) -> FrameSender {
        self.0.borrow().first().map(|b| b.frames.clone()).expect("a pipeline has a branch")
    }
}
