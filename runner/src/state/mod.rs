//! Checkpoints: state that survives restarts.
//!
//! As in Flink and Arroyo, a checkpoint stores a partition's operator state
//! (transform and chart) together with the input position that state stands
//! for; restoring it and reading on from that position neither loses nor
//! repeats a record, whatever happened to the process in between. The group
//! offsets Kafka keeps are informational (lag tools); the checkpoint is the
//! source of truth. The source's position is checkpointed the same way,
//! with how far the transport had got when it was saved.
//!
//! Where checkpoints live is the transport's business: files beside a file
//! transport, a compacted changelog topic for Kafka.

mod checkpoint;
mod durable_file;

pub use checkpoint::{
    BranchState, FORMAT_VERSION, SavedBranch, SavedState, SourceCheckpoint, StageState, TaskCheckpoint, now_ms,
};
pub use durable_file::{read_json, write_durable};
