//! The memory transport: a bounded in-process queue of record batches
//! between the two halves of one `buzz run` (no durability: what is in the
//! queue when the process ends is gone). The fastest way from source to
//! chart, for when nothing needs to cross a process.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::{
    EndMark, Lag, Position, RecordBatch, SendProgress, TransportError, TransportReader, TransportState,
    TransportWriter, Unread,
};
use crate::config::MemoryTransport;
use crate::plugin_host::RecordView;

/// How long a full queue blocks the producer before it backs off and retries.
const FULL_WAIT: Duration = Duration::from_secs(1);

#[derive(Default)]
struct State {
    /// Each batch with its payload bytes.
    batches: VecDeque<(RecordBatch, u64)>,
    /// Records in `batches`, and their payload bytes.
    queued: usize,
    queued_bytes: u64,
    /// Records ever sent.
    sent: u64,
    /// Emptied batches, reused so the steady state allocates nothing.
    spare: Vec<RecordBatch>,
}

struct Queue {
    capacity: usize,
    state: Mutex<State>,
    changed: Condvar,
}

/// The queue named `name`, shared by the writer and reader that open it.
fn queue(spec: &MemoryTransport) -> Arc<Queue> {
    static QUEUES: OnceLock<Mutex<HashMap<String, Arc<Queue>>>> = OnceLock::new();
    let mut queues = QUEUES.get_or_init(Default::default).lock().expect("memory queues poisoned");
    queues
        .entry(spec.name.clone())
        .or_insert_with(|| {
            Arc::new(Queue { capacity: spec.capacity, state: Mutex::default(), changed: Condvar::new() })
        })
        .clone()
}

pub struct MemoryWriter {
    queue: Arc<Queue>,
}

impl MemoryWriter {
    pub fn open(spec: &MemoryTransport) -> Self {
        MemoryWriter { queue: queue(spec) }
    }
}

impl TransportWriter for MemoryWriter {
    fn send(&mut self, records: &[RecordView<'_>], progress: &mut SendProgress) -> Result<(), TransportError> {
        // The batch is queued whole or not at all.
        let records = &records[progress.taken..];
        if records.is_empty() {
            return Ok(());
        }
        let queue = &self.queue;
        let mut state = queue.state.lock().expect("memory queue poisoned");
        let deadline = Instant::now() + FULL_WAIT;
        while state.queued > 0 && state.queued + records.len() > queue.capacity {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(TransportError(format!(
                    "the in-memory queue is full ({} records): the consumer is not taking them",
                    state.queued
                )));
            }
            state = queue.changed.wait_timeout(state, left).expect("memory queue poisoned").0;
        }
        let mut batch = state.spare.pop().unwrap_or_default();
        batch.clear();
        let mut bytes = 0;
        for (i, record) in records.iter().enumerate() {
            let position = Position::Sequence { index: state.sent + i as u64 };
            batch.push(record.payload, record.key, record.timestamp_ms, &[], position);
            bytes += record.payload.len() as u64;
        }
        state.sent += records.len() as u64;
        state.queued += records.len();
        state.queued_bytes += bytes;
        progress.taken += records.len();
        state.batches.push_back((batch, bytes));
        drop(state);
        queue.changed.notify_all();
        Ok(())
    }

    fn flush(&mut self) -> Result<(), TransportError> {
        Ok(())
    }

    fn end_mark(&self) -> EndMark {
        EndMark::Sequence(self.queue.state.lock().expect("memory queue poisoned").sent)
    }

    fn unread(&self) -> Option<Unread> {
        let state = self.queue.state.lock().expect("memory queue poisoned");
        Some(Unread { records: state.queued as u64, bytes: state.queued_bytes })
    }
}

pub struct MemoryReader {
    queue: Arc<Queue>,
    /// Records taken by the transform so far.
    committed: u64,
    /// Records handed out by the last read.
    pending: u64,
}

impl MemoryReader {
    pub fn open(spec: &MemoryTransport) -> Self {
        let queue = queue(spec);
        // The queue outlives its readers (a reload, or a second run in the
        // same process): records taken before this reader count as taken,
        // or its end mark, counted from the queue's first record, is never reached.
        let taken = {
            let state = queue.state.lock().expect("memory queue poisoned");
            state.sent - state.queued as u64
        };
        MemoryReader { queue, committed: taken, pending: 0 }
    }
}

impl TransportReader for MemoryReader {
    fn read(&mut self, batch: &mut RecordBatch, _max: usize, wait: Duration) -> Result<(), TransportError> {
        let queue = &self.queue;
        let mut state = queue.state.lock().expect("memory queue poisoned");
        if state.batches.is_empty() && !wait.is_zero() {
            state = queue
                .changed
                .wait_timeout_while(state, wait, |s| s.batches.is_empty())
                .expect("memory queue poisoned")
                .0;
        }
        match state.batches.pop_front() {
            Some((mut next, bytes)) => {
                std::mem::swap(batch, &mut next);
                state.queued -= batch.len();
                state.queued_bytes -= bytes;
                state.spare.push(next);
                self.pending = batch.len() as u64;
                drop(state);
                queue.changed.notify_all();
            }
            None => {
                batch.clear();
                self.pending = 0;
            }
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<(), TransportError> {
        self.committed += std::mem::take(&mut self.pending);
        Ok(())
    }

    fn reached(&self, mark: &EndMark) -> bool {
        matches!(mark, EndMark::Sequence(end) if self.committed >= *end)
    }

    fn caught_up(&mut self) -> bool {
        self.pending == 0 && self.queue.state.lock().expect("memory queue poisoned").batches.is_empty()
    }

    fn close(&mut self) -> Result<(), TransportError> {
        Ok(())
    }

    fn state(&self) -> TransportState {
        TransportState::Connected
    }

    fn lag(&self) -> Option<Lag> {
        Some(Lag::Records(self.queue.state.lock().expect("memory queue poisoned").queued as u64))
    }

    fn describe_position(&self, position: Position) -> serde_json::Value {
        match position {
            Position::Sequence { index } => serde_json::json!({ "memory": index }),
            other => serde_json::json!(format!("{other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(writer: &mut MemoryWriter, count: usize) {
        let record = RecordView::bytes(b"{}");
        writer.send(&vec![record; count], &mut SendProgress::default()).unwrap();
    }

    fn drain(reader: &mut MemoryReader) -> usize {
        let mut batch = RecordBatch::default();
        let mut taken = 0;
        loop {
            reader.read(&mut batch, usize::MAX, Duration::ZERO).unwrap();
            if batch.is_empty() {
                return taken;
            }
            taken += batch.len();
            reader.commit().unwrap();
        }
    }

    #[test]
    fn a_reader_opened_on_a_used_queue_reaches_the_end_mark() {
        let spec = MemoryTransport { name: "reused-queue-test".into(), capacity: 100 };
        let (mut writer, mut first) = (MemoryWriter::open(&spec), MemoryReader::open(&spec));
        send(&mut writer, 5);
        assert_eq!(drain(&mut first), 5);
        assert!(first.reached(&writer.end_mark()));
        // A second run in the same process: 3 records queued before its reader opens.
        let mut writer = MemoryWriter::open(&spec);
        send(&mut writer, 3);
        let mut second = MemoryReader::open(&spec);
        send(&mut writer, 4);
        assert!(!second.reached(&writer.end_mark()));
        assert_eq!(drain(&mut second), 7);
        assert!(second.reached(&writer.end_mark()));
    }
}
