//! Where a stage puts what it produces during one call.
//!
//! All bytes of a call go into one arena that is reused from call to call, so
//! a stage in its steady state allocates nothing per record.

use std::ops::Range;

use serde::Serialize;

use crate::Record;
use crate::abi::{FfiField, FfiOutput, FfiRecord, FfiReject, FfiSlice, NO_INPUT, NO_TIMESTAMP};
use crate::fields::{append_member, appended};
use crate::stage::Poll;

struct OutRecord {
    payload: Range<usize>,
    key: Option<Range<usize>>,
    timestamp_ms: i64,
    /// Its members in `Output::fields`, when known.
    fields: Option<Range<usize>>,
}

struct OutReject {
    input_index: usize,
    payload: Option<Range<usize>>,
    reason: Range<usize>,
    panicked: bool,
}

/// The records (and dead letters) a stage emits during one call.
#[derive(Default)]
pub struct Output {
    arena: Vec<u8>,
    records: Vec<OutRecord>,
    rejects: Vec<OutReject>,
    fields: Vec<FfiField>,
    ffi_records: Vec<FfiRecord>,
    ffi_rejects: Vec<FfiReject>,
    /// Key and timestamp of the input being processed: emitted records
    /// inherit them unless told otherwise.
    inherited_key: Option<Range<usize>>,
    inherited_timestamp: i64,
}

impl Output {
    pub fn new() -> Self {
        Output { inherited_timestamp: NO_TIMESTAMP, ..Default::default() }
    }

    /// Emit a record with these bytes (it inherits the input's key and timestamp).
    pub fn emit(&mut self, payload: &[u8]) {
        let start = self.arena.len();
        self.arena.extend_from_slice(payload);
        self.push(start, self.inherited_key.clone(), self.inherited_timestamp, None);
    }

    /// Emit `record` (a JSON object) with `"name": value` appended, without
    /// re-encoding the rest (it inherits the input's key and timestamp).
    /// The members the host found in `record` are handed on, with the new
    /// one, so the next stage need not read the bytes again.
    pub fn emit_with_field(&mut self, record: &Record<'_>, name: &str, value: &impl Serialize) -> Result<(), String> {
        let start = self.arena.len();
        let written = append_member(record.payload(), name, value, &mut self.arena)?;
        let first = self.fields.len();
        let within = |r: Range<usize>| r.start - start..r.end - start;
        let out = &self.arena[start..];
        let fields = record
            .fields()
            .zip(written.plain_key)
            .is_some_and(|(input, key)| appended(input, out, (within(key), within(written.member)), &mut self.fields))
            .then_some(first..self.fields.len());
        self.push(start, self.inherited_key.clone(), self.inherited_timestamp, fields);
        Ok(())
    }

    /// Emit a record as JSON, serialised straight into the output buffer.
    pub fn emit_json<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), String> {
        let start = self.arena.len();
        if let Err(e) = serde_json::to_writer(&mut self.arena, value) {
            self.arena.truncate(start);
            return Err(format!("cannot encode output as JSON: {e}"));
        }
        self.push(start, self.inherited_key.clone(), self.inherited_timestamp, None);
        Ok(())
    }

    /// Emit a record with an explicit key and timestamp (sources use this).
    pub fn emit_with(&mut self, payload: &[u8], key: Option<&[u8]>, timestamp_ms: Option<i64>) {
        let key = key.map(|k| {
            let start = self.arena.len();
            self.arena.extend_from_slice(k);
            start..self.arena.len()
        });
        let start = self.arena.len();
        self.arena.extend_from_slice(payload);
        self.push(start, key, timestamp_ms.unwrap_or(NO_TIMESTAMP), None);
    }

    /// Send raw bytes that could not become a record to the dead-letter
    /// output (a ragged CSV row, say), with the reason.
    pub fn dead_letter(&mut self, raw: &[u8], reason: impl std::fmt::Display) {
        let start = self.arena.len();
        self.arena.extend_from_slice(raw);
        let payload = start..self.arena.len();
        self.push_reject(NO_INPUT, Some(payload), &reason.to_string(), false);
    }

    /// Records emitted so far in this call.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The payloads emitted so far in this call (handy in tests).
    pub fn payloads(&self) -> impl Iterator<Item = &[u8]> {
        self.records.iter().map(|r| &self.arena[r.payload.clone()])
    }

    /// The record whose bytes run from `start` to the arena's end.
    #[inline]
    fn push(&mut self, start: usize, key: Option<Range<usize>>, timestamp_ms: i64, fields: Option<Range<usize>>) {
        self.records.push(OutRecord { payload: start..self.arena.len(), key, timestamp_ms, fields });
    }

    fn push_reject(&mut self, input_index: usize, payload: Option<Range<usize>>, reason: &str, panicked: bool) {
        let start = self.arena.len();
        self.arena.extend_from_slice(reason.as_bytes());
        self.rejects.push(OutReject { input_index, payload, reason: start..self.arena.len(), panicked });
    }

    // ----- used by the SDK glue -----

    pub(crate) fn clear(&mut self) {
        self.arena.clear();
        self.records.clear();
        self.rejects.clear();
        self.fields.clear();
        self.ffi_records.clear();
        self.ffi_rejects.clear();
        self.inherited_key = None;
        self.inherited_timestamp = NO_TIMESTAMP;
    }

    /// Start processing input record `key`/`timestamp`; returns a mark for
    /// [`Output::reject_input`].
    pub(crate) fn begin_input(&mut self, key: Option<&[u8]>, timestamp_ms: i64) -> usize {
        self.inherited_key = key.map(|k| {
            let start = self.arena.len();
            self.arena.extend_from_slice(k);
            start..self.arena.len()
        });
        self.inherited_timestamp = timestamp_ms;
        self.records.len()
    }

    pub(crate) fn end_input(&mut self) {
        self.inherited_key = None;
        self.inherited_timestamp = NO_TIMESTAMP;
    }

    /// Drop what input `index` emitted (from `mark` on) and dead-letter it.
    pub(crate) fn reject_input(&mut self, index: usize, mark: usize, reason: &str, panicked: bool) {
        self.records.truncate(mark);
        self.push_reject(index, None, reason, panicked);
    }

    /// Lay the call's results out for the host. Valid until the next `clear`.
    pub(crate) fn finish(&mut self, poll: Poll) -> FfiOutput {
        let arena = &self.arena;
        let slice = |r: &Range<usize>| FfiSlice::new(&arena[r.clone()]);
        let fields = &self.fields;
        self.ffi_records.extend(self.records.iter().map(|r| FfiRecord {
            payload: slice(&r.payload),
            key: r.key.as_ref().map_or(FfiSlice::NONE, slice),
            timestamp_ms: r.timestamp_ms,
            headers: std::ptr::null(),
            header_count: 0,
            fields: r.fields.as_ref().map_or(std::ptr::null(), |f| fields[f.clone()].as_ptr()),
            field_count: r.fields.as_ref().map_or(0, ExactSizeIterator::len),
        }));
        self.ffi_rejects.extend(self.rejects.iter().map(|r| FfiReject {
            input_index: r.input_index,
            payload: r.payload.as_ref().map_or(FfiSlice::NONE, slice),
            reason: slice(&r.reason),
            panicked: r.panicked as u8,
        }));
        let (poll, wait_ms) = poll.to_ffi();
        FfiOutput {
            records: self.ffi_records.as_ptr(),
            record_count: self.ffi_records.len(),
            rejects: self.ffi_rejects.as_ptr(),
            reject_count: self.ffi_rejects.len(),
            poll,
            wait_ms,
        }
    }
}
