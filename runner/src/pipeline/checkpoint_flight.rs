//! Checkpoints saved while records keep flowing, as Flink saves a
//! snapshot: the tasks' state is taken on the consumer's thread (it must
//! stand for exactly the records before its position), then the transport
//! stores it while the loop goes on. Only the periodic checkpoint is
//! saved this way; before partitions are let go, at the end and after a
//! reload the consumer waits until it is durable.

use std::time::{Duration, Instant};

/// How the consumer waits for a checkpoint to be durable.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Durability {
    /// Returns once it is handed to the transport; [`InFlight`] follows it.
    InBackground,
    /// Returns once it is durable.
    Now,
}

/// After this long without an outcome, the log says the checkpoint is late.
const LATE: Duration = Duration::from_secs(10);

/// A checkpoint the transport is still saving. One at a time: the next
/// periodic checkpoint waits for this one's outcome, so a slow broker is
/// not handed a queue of them.
pub struct InFlight {
    /// The partitions it is the checkpoint of.
    pub partitions: Vec<i32>,
    since: Instant,
    said_late: bool,
}

impl InFlight {
    pub fn new(partitions: Vec<i32>) -> Self {
        InFlight { partitions, since: Instant::now(), said_late: false }
    }

    /// True the first time the checkpoint has been in flight for longer
    /// than it should.
    pub fn just_late(&mut self) -> bool {
        let late = !self.said_late && self.since.elapsed() > LATE;
        self.said_late |= late;
        late
    }
}
