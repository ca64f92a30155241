//! A batch of records read from a transport, in one reusable buffer.

use std::ops::Range;

use crate::plugin_host::RecordView;

/// Where a record sits in its transport, for commits and dead letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// Byte offset of the line in the file.
    File {
        offset: u64,
    },
    /// Index of the record in an in-memory queue.
    Sequence {
        index: u64,
    },
    Kafka {
        partition: i32,
        offset: i64,
    },
}

impl Position {
    /// The input partition the record belongs to (a file or queue has one).
    pub fn partition(&self) -> i32 {
        match self {
            Position::Kafka { partition, .. } => *partition,
            Position::File { .. } | Position::Sequence { .. } => 0,
        }
    }
}

#[derive(Debug, Clone)]
struct Meta {
    payload: Range<usize>,
    key: Option<Range<usize>>,
    timestamp_ms: Option<i64>,
    headers: Range<usize>,
    position: Position,
}

/// Records in one arena; cleared and refilled for each read, so reading
/// allocates nothing in the steady state.
#[derive(Debug, Default)]
pub struct RecordBatch {
    data: Vec<u8>,
    records: Vec<Meta>,
    headers: Vec<(Range<usize>, Option<Range<usize>>)>,
    /// Records the transport itself refused (index, reason): they go to
    /// the dead letters as they are, never to the transform.
    refused: Vec<(usize, String)>,
}

impl RecordBatch {
    pub fn clear(&mut self) {
        self.data.clear();
        self.records.clear();
        self.headers.clear();
        self.refused.clear();
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    fn put(&mut self, bytes: &[u8]) -> Range<usize> {
        let start = self.data.len();
        self.data.extend_from_slice(bytes);
        start..self.data.len()
    }

    /// Adds a record with no key, timestamp or headers.
    pub fn push_payload(&mut self, payload: &[u8], position: Position) {
        self.push(payload, None, None, &[], position);
    }

    pub fn push(
        &mut self,
        payload: &[u8],
        key: Option<&[u8]>,
        timestamp_ms: Option<i64>,
        headers: &[(&[u8], Option<&[u8]>)],
        position: Position,
    ) {
        let payload = self.put(payload);
        let key = key.map(|k| self.put(k));
        let first_header = self.headers.len();
        for (name, value) in headers {
            let name = self.put(name);
            let value = value.map(|v| self.put(v));
            self.headers.push((name, value));
        }
        self.records.push(Meta { payload, key, timestamp_ms, headers: first_header..self.headers.len(), position });
    }

    /// Adds what the transport kept of a record it refused, with why.
    pub fn push_refused(&mut self, payload: &[u8], position: Position, reason: String) {
        self.refused.push((self.records.len(), reason));
        self.push_payload(payload, position);
    }

    /// Why the transport refused the record at `index`, if it did.
    pub fn refusal(&self, index: usize) -> Option<&str> {
        self.refused.iter().find(|(i, _)| *i == index).map(|(_, why)| why.as_str())
    }

    pub fn payload(&self, index: usize) -> &[u8] {
        &self.data[self.records[index].payload.clone()]
    }

    pub fn key(&self, index: usize) -> Option<&[u8]> {
        self.records[index].key.as_ref().map(|k| &self.data[k.clone()])
    }

    pub fn timestamp_ms(&self, index: usize) -> Option<i64> {
        self.records[index].timestamp_ms
    }

    /// The record at `index` (without its headers, see [`RecordBatch::headers`]).
    pub fn view(&self, index: usize) -> RecordView<'_> {
        RecordView {
            key: self.key(index),
            timestamp_ms: self.timestamp_ms(index),
            ..RecordView::bytes(self.payload(index))
        }
    }

    pub fn headers(&self, index: usize) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> {
        self.headers[self.records[index].headers.clone()]
            .iter()
            .map(|(name, value)| (&self.data[name.clone()], value.as_ref().map(|v| &self.data[v.clone()])))
    }

    pub fn position(&self, index: usize) -> Position {
        self.records[index].position
    }

    pub fn last_position(&self) -> Option<Position> {
        self.records.last().map(|r| r.position)
    }

    pub fn positions(&self) -> impl Iterator<Item = Position> + '_ {
        self.records.iter().map(|r| r.position)
    }
}
