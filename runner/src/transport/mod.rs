//! Transports carry records from the producer half of a pipeline to its
//! consumer half. They belong to the runner, not to plugins.

mod batch;
pub(crate) mod file;
pub mod kafka;
mod long_line;
pub(crate) mod memory;
mod read_positions;
mod reset;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

pub use batch::{Position, RecordBatch};
pub use reset::reset;
use serde_json::Value;

use crate::config::{Brokers, TransportSpec};
use crate::plugin_host::RecordView;
use crate::state::{SavedState, StageState, TaskCheckpoint};

/// A transport failure; the pipeline retries and reports it.
#[derive(Debug, Clone)]
pub struct TransportError(pub String);

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TransportError {}

/// What a consumer must have reached to have seen everything a producer sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndMark {
    /// End offset of the file.
    File(u64),
    /// Next offset per partition.
    Kafka(BTreeMap<i32, i64>),
    /// Records sent (the memory transport).
    Sequence(u64),
}

/// How the transport is doing, for logs and the dashboard.
#[derive(Debug, Clone, PartialEq)]
pub enum TransportState {
    Connected,
    Waiting(String),
    Retrying(String),
}

/// The transport's state as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TransportStatus {
    /// `connected`, `waiting` or `retrying`.
    pub state: &'static str,
    pub detail: Option<String>,
    /// How far behind the consumer is, where known.
    pub lag: Option<Lag>,
    /// A lasting problem with how the transport is set up that does not
    /// stop it (see [`TransportReader::warning`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

impl TransportStatus {
    pub fn new(state: TransportState, lag: Option<Lag>) -> Self {
        let (state, detail) = match state {
            TransportState::Connected => ("connected", None),
            TransportState::Waiting(why) => ("waiting", Some(why)),
            TransportState::Retrying(why) => ("retrying", Some(why)),
        };
        TransportStatus { state, detail, lag, warning: None }
    }

    pub fn with_warning(self, warning: Option<String>) -> Self {
        TransportStatus { warning, ..self }
    }
}

/// How far behind the newest record a consumer is, in the unit its
/// transport counts. Shown as text ("1200 records", "3000 bytes") on the
/// dashboard, and as a number per unit in `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lag {
    Records(u64),
    Bytes(u64),
}

impl fmt::Display for Lag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lag::Records(n) => write!(f, "{n} records"),
            Lag::Bytes(n) => write!(f, "{n} bytes"),
        }
    }
}

impl serde::Serialize for Lag {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// How far a transport got with one batch of records. A `send` that failed
/// part-way is retried with the same progress and goes on after the records
/// already taken, so a retry never sends a record twice.
#[derive(Debug, Default)]
pub struct SendProgress {
    /// Records from the start of the batch that were sent, skipped or rejected.
    pub taken: usize,
    /// Records the transport cannot carry (index, reason): not sent.
    pub rejected: Vec<(usize, String)>,
}

/// The producer half's end of a transport.
pub trait TransportWriter: Send {
    /// Sends records on, from `progress.taken` (see [`SendProgress`]).
    fn send(&mut self, records: &[RecordView<'_>], progress: &mut SendProgress) -> Result<(), TransportError>;
    /// Makes everything sent so far visible to consumers.
    fn flush(&mut self) -> Result<(), TransportError>;
    /// The mark a consumer must reach to have seen everything flushed.
    fn end_mark(&self) -> EndMark;
    /// Records the transport took but finally failed to deliver (payload,
    /// reason), for the dead letters.
    fn take_failed(&mut self, _out: &mut Vec<(Vec<u8>, String)>) {}
    /// The source will make nothing for `wait`. A transport that holds
    /// records back to batch them with later ones (Kafka's `linger.ms`) may
    /// send them now, spending at most `spend` of the wait on it.
    fn source_waits(&mut self, _wait: Duration, _spend: Duration) {}
    /// Records taken but not yet delivered.
    fn pending(&self) -> usize {
        0
    }
    /// What a consumer in this process has not read yet, where the
    /// transport can tell (else the pipeline counts records both halves saw).
    fn unread(&self) -> Option<Unread> {
        None
    }
    /// The source state saved by the last run, if this transport keeps one.
    /// The writer then skips the records that run wrote after saving it, so
    /// a source resumed from it repeats nothing (a single producer per file
    /// or topic, and a source that replays the same records from the same
    /// state, are assumed).
    /// A state saved by another type of source, or under other
    /// state-defining settings (`meaning`), is not resumed: the source
    /// starts afresh and nothing is skipped.
    fn resume_source(
        &mut self,
        _source_type: &str,
        _meaning: &Option<Value>,
    ) -> Result<Option<SavedState>, TransportError> {
        Ok(None)
    }
    /// Saves the source's state with how far this transport has written;
    /// called after `flush` succeeded, so everything before it is delivered.
    fn checkpoint_source(&mut self, _source: StageState) -> Result<(), TransportError> {
        Ok(())
    }
}

/// The consumer half's end of a transport.
pub trait TransportReader: Send {
    /// Fills `batch` (cleared first) with up to `max` records, waiting up to
    /// `wait` for the first one.
    fn read(&mut self, batch: &mut RecordBatch, max: usize, wait: Duration) -> Result<(), TransportError>;
    /// The records of the last read have been taken by the transform: their
    /// position may be saved (at-least-once).
    fn commit(&mut self) -> Result<(), TransportError>;
    /// True once every record up to `mark` has been read and committed.
    fn reached(&self, mark: &EndMark) -> bool;
    /// True when everything available right now has been read.
    fn caught_up(&mut self) -> bool;
    /// Saves the position for good (on shutdown).
    fn close(&mut self) -> Result<(), TransportError>;
    fn state(&self) -> TransportState;
    /// How far behind the newest record this consumer is, where known.
    fn lag(&self) -> Option<Lag> {
        None
    }
    /// A lasting problem with how the transport is set up that does not
    /// stop it but the user should fix (a topic with more partitions than
    /// an ordered pipeline asked for), shown whatever the state.
    fn warning(&self) -> Option<String> {
        None
    }
    /// Records over `max` bytes are refused (the consumer's record check);
    /// a transport that would otherwise buffer them whole skips them.
    fn limit_record_bytes(&mut self, _max: u64) {}
    /// A record's position as JSON, for dead letters.
    fn describe_position(&self, position: Position) -> serde_json::Value;

    /// Where reading resumes in `partition` (just after the last record
    /// taken), if anything was read or restored there.
    fn position(&self, _partition: i32) -> Option<i64> {
        None
    }
    /// Checkpoints restored for partitions this reader took on, each once;
    /// the reader already resumed each partition at its checkpoint.
    fn take_restored(&mut self) -> Vec<TaskCheckpoint> {
        Vec::new()
    }
    /// Why this reader cannot go on correctly (a partition it was given
    /// could not be restored), if so: the pipeline stops.
    fn failure(&self) -> Option<String> {
        None
    }
    /// Partitions this reader gave up since the last call.
    fn take_revoked(&mut self) -> Vec<i32> {
        Vec::new()
    }
    /// Whether this transport keeps checkpoints (the memory queue does not).
    fn keeps_checkpoints(&self) -> bool {
        false
    }
    /// Stores each task's checkpoint, all or nothing per partition, and
    /// returns once they are durable.
    fn save_checkpoints(&mut self, _checkpoints: &[TaskCheckpoint]) -> Result<(), TransportError> {
        Ok(())
    }
    /// Starts storing the checkpoints and may return before they are
    /// durable; [`TransportReader::checkpoints_saved`] says when they are.
    /// (Kafka's: the broker's acknowledgement takes milliseconds the
    /// records should not wait for.)
    fn send_checkpoints(&mut self, checkpoints: &[TaskCheckpoint]) -> Result<(), TransportError> {
        self.save_checkpoints(checkpoints)
    }
    /// Whether everything sent with `send_checkpoints` is durable: `None`
    /// while it is still being saved, an error if it could not be.
    fn checkpoints_saved(&mut self) -> Option<Result<(), TransportError>> {
        Some(Ok(()))
    }
    /// Picks up checkpoints that other consumers saved; true if any changed.
    fn poll_peers(&mut self) -> bool {
        false
    }
    /// The latest checkpoint of every partition this reader does not hold,
    /// for a chart of the whole input.
    fn peer_checkpoints(&self) -> Vec<TaskCheckpoint> {
        Vec::new()
    }
}

/// Records and bytes a producer is ahead of its consumer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unread {
    pub records: u64,
    pub bytes: u64,
}

/// Most records and bytes a producer may run ahead of a consumer in the
/// same process before it waits for it.
#[derive(Debug, Clone, Copy)]
pub struct LagLimit {
    pub records: u64,
    pub bytes: u64,
}

impl LagLimit {
    /// The embedded broker keeps only the newest 100,000 records or 5 MB
    /// per partition (librdkafka's mock, not configurable): a consumer
    /// further behind would lose records.
    pub const EMBEDDED_KAFKA: LagLimit = LagLimit { records: 50_000, bytes: 2 * 1024 * 1024 };
}

/// Bytes a producer may write ahead of the consumer in the same process,
/// on a file or the memory queue: more only costs disk, page cache and
/// memory, and delays the chart.
pub const MAX_LAG_BYTES: u64 = 64 * 1024 * 1024;

/// How far a producer may run ahead of the consumer in the same process.
/// A real Kafka cluster holds what it is sent (and other processes may
/// consume it): no limit there.
pub fn lag_limit(spec: &TransportSpec) -> Option<LagLimit> {
    match spec {
        TransportSpec::File(_) => Some(LagLimit { records: u64::MAX, bytes: MAX_LAG_BYTES }),
        TransportSpec::Memory(m) => Some(LagLimit { records: m.capacity as u64, bytes: MAX_LAG_BYTES }),
        TransportSpec::Kafka(k) if k.brokers == Brokers::Embedded => Some(LagLimit::EMBEDDED_KAFKA),
        TransportSpec::Kafka(_) => None,
    }
}

/// Whether the producer and the consumer half may run in different
/// processes (`--role produce`, `consume`, `view`).
pub fn check_split(spec: &TransportSpec) -> Result<(), TransportError> {
    match spec {
        TransportSpec::Memory(_) => Err(TransportError(
            "the memory transport joins the two halves of one process: run both (the default --role), or split them over a file or Kafka transport".into(),
        )),
        TransportSpec::File(_) | TransportSpec::Kafka(_) => Ok(()),
    }
}

/// The transport's client settings taken together, where its client
/// library can tell (librdkafka; each key alone was checked on loading).
pub fn check_client_settings(spec: &TransportSpec) -> Result<(), TransportError> {
    match spec {
        TransportSpec::Kafka(kafka) => kafka::check_client_settings(kafka).map_err(TransportError),
        TransportSpec::File(_) | TransportSpec::Memory(_) => Ok(()),
    }
}

/// What a producer alone in its process (`--role produce`) should know
/// about this transport, if anything.
pub fn lone_producer_warning(spec: &TransportSpec) -> Option<&'static str> {
    kafka::hosting::on_embedded_broker(spec).map(|_| {
        "--role produce on the embedded broker: it lives in this process and keeps only the newest 100,000 records (5 MB) per partition, \
         so a consumer further behind loses records, and all of them go when this process stops; use a real broker for anything lasting"
    })
}

/// Opens the producer end of a transport.
pub fn open_writer(spec: &TransportSpec) -> Result<Box<dyn TransportWriter>, TransportError> {
    match spec {
        TransportSpec::File(f) => Ok(Box::new(file::FileWriter::open(&f.path, f.fsync)?)),
        TransportSpec::Kafka(k) => Ok(Box::new(kafka::KafkaWriter::open(k)?)),
        TransportSpec::Memory(m) => Ok(Box::new(memory::MemoryWriter::open(m))),
    }
}

/// Opens the consumer end of a transport.
pub fn open_reader(spec: &TransportSpec) -> Result<Box<dyn TransportReader>, TransportError> {
    match spec {
        TransportSpec::File(f) => Ok(Box::new(file::FileReader::open(f)?)),
        TransportSpec::Kafka(k) => Ok(Box::new(kafka::KafkaReader::open(k)?)),
        TransportSpec::Memory(m) => Ok(Box::new(memory::MemoryReader::open(m))),
    }
}

/// Opens a reader that takes no input itself and follows the checkpoints
/// the consumers save, for a chart of the whole input (`--role view`).
pub fn open_view(spec: &TransportSpec) -> Result<Box<dyn TransportReader>, TransportError> {
    match spec {
        TransportSpec::File(f) => Ok(Box::new(file::CheckpointView::open(f))),
        TransportSpec::Kafka(k) => Ok(Box::new(kafka::KafkaReader::open_view(k)?)),
        TransportSpec::Memory(_) => {
            Err(TransportError("the memory transport keeps no checkpoints to view; run the pipeline itself".into()))
        }
    }
}
