//! Reading ahead: a thread of its own polls librdkafka and fills the next
//! record batch while the consumer thread gates, transforms and charts the
//! last one. librdkafka's work per message (queue pops, op and message
//! destruction, allocation, its clock) was two thirds of the consumer
//! thread's time, and the whole pipeline waited for it while the other core
//! idled (BENCHMARKS.md, section 2).
//!
//! A batch carries what happened while it was filled, in order: its
//! records, the partitions found at their end, and the rebalance that ended
//! it (partitions revoked, checkpoints restored). The consumer thread sees
//! them as if it had polled itself: a rebalance takes effect after the
//! records read before it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Headers, Message};

use super::reader::ReaderContext;
use crate::state::TaskCheckpoint;
use crate::transport::{Position, RecordBatch};

/// How long one poll of librdkafka waits for a record: also how long the
/// thread takes to notice it should stop.
const POLL: Duration = Duration::from_millis(20);
/// Batches filled ahead of the one the consumer thread is working on.
const AHEAD: usize = 1;

/// Where reading has got to: next offsets of the batch, and partitions at
/// their end (since when: records may have come since).
#[derive(Default)]
pub struct ReadProgress {
    pub pending: BTreeMap<i32, i64>,
    pub at_end: BTreeMap<i32, Instant>,
    /// The partition of the run of records being read, and its next
    /// offset: noted in `pending` when the run ends, as two map updates
    /// per record were a tenth of this thread's work.
    run: Option<(i32, i64)>,
}

impl ReadProgress {
    fn take(&mut self, message: &BorrowedMessage<'_>, batch: &mut RecordBatch) {
        let mut headers: Vec<(&[u8], Option<&[u8]>)> = Vec::new();
        if let Some(h) = message.headers() {
            headers.extend(h.iter().map(|h| (h.key.as_bytes(), h.value)));
        }
        let (partition, next) = (message.partition(), message.offset() + 1);
        batch.push(
            message.payload().unwrap_or_default(),
            message.key(),
            message.timestamp().to_millis(),
            &headers,
            Position::Kafka { partition, offset: message.offset() },
        );
        self.note(partition, next);
    }

    /// A record of `partition` was read; `next` follows it.
    fn note(&mut self, partition: i32, next: i64) {
        match &mut self.run {
            Some((of, at)) if *of == partition => *at = next,
            _ => {
                self.end_run();
                self.run = Some((partition, next));
                self.at_end.remove(&partition);
            }
        }
    }

    /// `partition` has no more records for now.
    fn reached_end(&mut self, partition: i32) {
        // A record of it after this is a new run, which clears its end.
        self.end_run();
        self.at_end.insert(partition, Instant::now());
    }

    /// Notes the run's next offset; done before the batch is handed over.
    fn end_run(&mut self) {
        if let Some((partition, next)) = self.run.take() {
            self.pending.insert(partition, next);
        }
    }
}

/// A batch and what happened while it was filled.
pub struct Filled {
    pub batch: RecordBatch,
    /// Its next offsets, and the partitions at their end after it.
    pub progress: ReadProgress,
    pub revoked: Vec<i32>,
    pub restored: Vec<TaskCheckpoint>,
}

/// The reading thread, and the batches going to and fro.
pub struct ReadAhead {
    filled: Receiver<Filled>,
    spare: SyncSender<RecordBatch>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ReadAhead {
    /// Starts reading from `consumer` (subscribed) in batches of at most `max`.
    pub fn start(consumer: Arc<BaseConsumer<ReaderContext>>, max: usize, name: String) -> std::io::Result<Self> {
        let (filled_tx, filled) = sync_channel(AHEAD);
        let (spare, spare_rx) = sync_channel(AHEAD + 1);
        for _ in 0..=AHEAD {
            let _ = spare.try_send(RecordBatch::default());
        }
        let stop = Arc::new(AtomicBool::new(false));
        let fetcher = Fetcher { consumer, max, stop: stop.clone(), at_end: BTreeMap::new() };
        let thread = std::thread::Builder::new().name(name).spawn(move || fetcher.run(&spare_rx, &filled_tx))?;
        Ok(ReadAhead { filled, spare, stop, thread: Some(thread) })
    }

    /// The next batch read, waiting at most `wait` for it. `used` (the
    /// caller's last batch) goes back to be filled again.
    pub fn next(&mut self, wait: Duration, used: RecordBatch) -> Result<Filled, RecordBatch> {
        match self.filled.recv_timeout(wait) {
            Ok(filled) => {
                // Never full: one batch goes back for each that came.
                let _ = self.spare.try_send(used);
                Ok(filled)
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => Err(used),
        }
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // A thread waiting to hand over a batch gets room for it, then sees
        // the stop.
        while self.filled.try_recv().is_ok() {}
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Fetcher {
    consumer: Arc<BaseConsumer<ReaderContext>>,
    max: usize,
    stop: Arc<AtomicBool>,
    /// Partitions at their end, kept from batch to batch.
    at_end: BTreeMap<i32, Instant>,
}

impl Fetcher {
    fn run(mut self, spare: &Receiver<RecordBatch>, filled: &SyncSender<Filled>) {
        while !self.stop.load(Ordering::Relaxed) {
            let mut batch = match spare.recv_timeout(POLL) {
                Ok(batch) => batch,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return,
            };
            let Some(progress) = self.fill(&mut batch) else { return };
            let context = self.consumer.context();
            let revoked = std::mem::take(&mut *context.revoked.lock().expect("revoked poisoned"));
            let restored = std::mem::take(&mut *context.restored.lock().expect("restored poisoned"));
            if filled.send(Filled { batch, progress, revoked, restored }).is_err() {
                return;
            }
        }
    }

    /// Fills `batch` once something happened: records (then what else is
    /// ready, up to `max`), a partition's end, or a rebalance (which ends
    /// the batch). None when told to stop.
    fn fill(&mut self, batch: &mut RecordBatch) -> Option<ReadProgress> {
        batch.clear();
        let mut progress = ReadProgress { at_end: std::mem::take(&mut self.at_end), ..ReadProgress::default() };
        let mut happened = false;
        let context = self.consumer.context();
        while batch.len() < self.max {
            if self.stop.load(Ordering::Relaxed) {
                return None;
            }
            // Wait only until something happens; then take what is ready.
            let timeout = if happened { Duration::ZERO } else { POLL };
            match self.consumer.poll(timeout) {
                None if happened => break,
                None => {}
                Some(Ok(message)) => {
                    progress.take(&message, batch);
                    // A record means the broker answers again; once per
                    // batch, as clearing takes a lock.
                    if batch.len() == 1 {
                        context.errors.clear();
                    }
                    happened = true;
                }
                Some(Err(KafkaError::PartitionEOF(partition))) => {
                    progress.reached_end(partition);
                    happened = true;
                }
                Some(Err(error)) => {
                    context.errors.report(&error, "consumer error");
                    if happened {
                        break;
                    }
                }
            }
            if context.rebalanced.swap(false, Ordering::Relaxed) {
                break;
            }
        }
        progress.end_run();
        self.at_end = progress.at_end.clone();
        Some(progress)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_offsets_and_ends_are_those_of_the_records_read_in_order() {
        let mut progress = ReadProgress::default();
        progress.at_end.insert(1, Instant::now());
        progress.reached_end(2);
        for (partition, next) in [(0, 5), (0, 6), (1, 3), (0, 7)] {
            progress.note(partition, next);
        }
        // An end closes the partition's run: its offset is noted.
        progress.reached_end(0);
        assert_eq!(progress.pending, BTreeMap::from([(0, 7), (1, 3)]));
        let ends: Vec<i32> = progress.at_end.keys().copied().collect();
        assert_eq!(ends, [0, 2], "1 had a record after its end; 2 none");

        // A record of 0 right after its end, no other partition between:
        // a new run, which clears the end.
        progress.note(0, 8);
        progress.end_run();
        assert_eq!(progress.pending[&0], 8);
        assert!(!progress.at_end.contains_key(&0), "0 is no longer at its end");
    }
}
