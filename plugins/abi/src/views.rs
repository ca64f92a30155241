//! Safe views of the records that cross the boundary. The runner's plugin
//! host and the SDK's test harness read a stage call's output only through
//! [`FfiOutput::decode`], and lay a call's input out only through
//! [`InputBuffer`]: the pointer handling of records lives here, once.

use std::marker::PhantomData;

use crate::{FfiField, FfiHeader, FfiOutput, FfiRecord, FfiReject, FfiSlice, NO_INPUT, NO_TIMESTAMP, Poll};

/// One record, borrowed.
///
/// Headers are not part of it: stages emit none that the runner reads,
/// and transports send none; an input record is laid out with its headers
/// by [`InputFill::push`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordView<'a> {
    pub payload: &'a [u8],
    /// `None` when the record has no key.
    pub key: Option<&'a [u8]>,
    /// Milliseconds since the Unix epoch, if the record carries a timestamp.
    pub timestamp_ms: Option<i64>,
    /// The payload's members, when known ([`FfiField`]).
    pub fields: Option<&'a [FfiField]>,
}

impl<'a> RecordView<'a> {
    /// A record of these bytes alone: no key, no timestamp.
    pub fn bytes(payload: &'a [u8]) -> Self {
        RecordView { payload, key: None, timestamp_ms: None, fields: None }
    }
}

impl PartialEq for RecordView<'_> {
    /// The same record: the members are where the payload says they are,
    /// so they are not compared.
    fn eq(&self, other: &Self) -> bool {
        (self.payload, self.key, self.timestamp_ms) == (other.payload, other.key, other.timestamp_ms)
    }
}

impl Eq for RecordView<'_> {}

/// A record header (Kafka headers, for instance).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    pub name: &'a [u8],
    pub value: Option<&'a [u8]>,
}

/// A record a stage refused, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RejectView<'a> {
    /// Index into the call's input, if the reject stems from an input record.
    pub input_index: Option<usize>,
    /// The raw bytes, for a reject with no input record (a source refusing
    /// a raw line, say).
    pub payload: Option<&'a [u8]>,
    pub reason: &'a [u8],
    /// The reason is a caught panic.
    pub panicked: bool,
}

/// Records whose every pointer stays valid for `'a`: a decoded output, or
/// an input laid out by [`InputBuffer`].
#[derive(Debug, Clone, Copy)]
pub struct Records<'a> {
    raw: &'a [FfiRecord],
}

impl<'a> Records<'a> {
    pub const EMPTY: Records<'static> = Records { raw: &[] };

    /// # Safety
    /// `ptr` points at `len` records (any pointer when `len` is 0) whose
    /// bytes, and the records themselves, stay readable for `'a`.
    pub unsafe fn from_raw(ptr: *const FfiRecord, len: usize) -> Self {
        // SAFETY: guaranteed by the caller.
        Records { raw: unsafe { raw_slice(ptr, len) } }
    }

    pub fn len(&self) -> usize {
        self.raw.len()
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    pub fn get(&self, index: usize) -> Option<RecordView<'a>> {
        // SAFETY: valid for 'a (the constructors' contract).
        self.raw.get(index).map(|r| unsafe { record_view(r) })
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = RecordView<'a>> + 'a {
        // SAFETY: valid for 'a (the constructors' contract).
        self.raw.iter().map(|r| unsafe { record_view(r) })
    }

    /// The raw records, to hand them on to another stage call as they are.
    pub fn as_ffi(&self) -> &'a [FfiRecord] {
        self.raw
    }
}

/// The rejects of a decoded output.
#[derive(Debug, Clone, Copy)]
pub struct Rejects<'a> {
    raw: &'a [FfiReject],
}

impl<'a> Rejects<'a> {
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = RejectView<'a>> + 'a {
        // SAFETY: valid for 'a (`FfiOutput::decode`'s contract).
        self.raw.iter().map(|r| unsafe { reject_view(r) })
    }
}

/// What a stage call produced, decoded.
#[derive(Debug, Clone, Copy)]
pub struct Decoded<'a> {
    pub records: Records<'a>,
    pub rejects: Rejects<'a>,
    /// Sources only; other stages say [`Poll::Ready`].
    pub poll: Poll,
}

impl FfiOutput {
    /// # Safety
    /// `self` is what the last call on a live stage wrote, and `'a` ends
    /// before the next call on that stage or its release (the ABI's
    /// lifetime rule for outputs).
    pub unsafe fn decode<'a>(&self) -> Decoded<'a> {
        // SAFETY: guaranteed by the caller.
        let (records, rejects) =
            unsafe { (raw_slice(self.records, self.record_count), raw_slice(self.rejects, self.reject_count)) };
        Decoded {
            records: Records { raw: records },
            rejects: Rejects { raw: rejects },
            poll: Poll::from_ffi(self.poll, self.wait_ms),
        }
    }
}

/// # Safety
/// As for [`Records::from_raw`].
unsafe fn raw_slice<'a, T>(ptr: *const T, len: usize) -> &'a [T] {
    if len == 0 || ptr.is_null() {
        &[]
    } else {
        // SAFETY: guaranteed by the caller.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }
}

/// # Safety
/// The record's bytes stay readable for `'a`.
unsafe fn record_view<'a>(raw: &FfiRecord) -> RecordView<'a> {
    // SAFETY: guaranteed by the caller.
    let (payload, key) = unsafe { (raw.payload.as_bytes(), raw.key.as_opt()) };
    // SAFETY: the members live as long as the record (the ABI's rule).
    let fields = (!raw.fields.is_null()).then(|| unsafe { raw_slice(raw.fields, raw.field_count) });
    RecordView { payload, key, timestamp_ms: (raw.timestamp_ms != NO_TIMESTAMP).then_some(raw.timestamp_ms), fields }
}

/// # Safety
/// The reject's bytes stay readable for `'a`.
unsafe fn reject_view<'a>(raw: &FfiReject) -> RejectView<'a> {
    // SAFETY: guaranteed by the caller.
    let (payload, reason) = unsafe { (raw.payload.as_opt(), raw.reason.as_bytes()) };
    RejectView {
        input_index: (raw.input_index != NO_INPUT).then_some(raw.input_index),
        payload,
        reason,
        panicked: raw.panicked != 0,
    }
}

/// Reusable buffers that lay records out as a stage call's input, so a
/// steady stream of batches allocates nothing.
#[derive(Debug, Default)]
pub struct InputBuffer {
    records: Vec<FfiRecord>,
    headers: Vec<FfiHeader>,
    /// Where each record's headers start in `headers`.
    first_header: Vec<usize>,
}

impl InputBuffer {
    /// Starts a new input (the previous one is dropped).
    pub fn fill(&mut self) -> InputFill<'_> {
        self.records.clear();
        self.headers.clear();
        self.first_header.clear();
        InputFill { buffer: self, data: PhantomData }
    }

    /// An input of `records`, without headers.
    pub fn lay_out<'a>(&'a mut self, records: impl IntoIterator<Item = RecordView<'a>>) -> Records<'a> {
        let mut fill = self.fill();
        for record in records {
            fill.push(record, []);
        }
        fill.finish()
    }
}

/// An input being laid out: the records pushed must outlive it and the
/// [`Records`] it finishes as.
pub struct InputFill<'a> {
    buffer: &'a mut InputBuffer,
    data: PhantomData<&'a [u8]>,
}

impl<'a> InputFill<'a> {
    pub fn push(&mut self, record: RecordView<'a>, headers: impl IntoIterator<Item = Header<'a>>) {
        let buffer = &mut *self.buffer;
        let first = buffer.headers.len();
        buffer.headers.extend(
            headers.into_iter().map(|h| FfiHeader { name: FfiSlice::new(h.name), value: FfiSlice::opt(h.value) }),
        );
        buffer.first_header.push(first);
        buffer.records.push(FfiRecord {
            payload: FfiSlice::new(record.payload),
            key: FfiSlice::opt(record.key),
            timestamp_ms: record.timestamp_ms.unwrap_or(NO_TIMESTAMP),
            // Pointed at in `finish`: `headers` may still move as it grows.
            headers: std::ptr::null(),
            header_count: buffer.headers.len() - first,
            fields: record.fields.map_or(std::ptr::null(), <[FfiField]>::as_ptr),
            field_count: record.fields.map_or(0, <[FfiField]>::len),
        });
    }

    pub fn finish(self) -> Records<'a> {
        let InputBuffer { records, headers, first_header } = self.buffer;
        for (record, &first) in records.iter_mut().zip(first_header.iter()) {
            if record.header_count > 0 {
                record.headers = headers[first..].as_ptr();
            }
        }
        // Every pointer is into data borrowed for 'a, or into `headers`,
        // which stays borrowed (unchanged) for 'a with the buffer.
        let records: &'a [FfiRecord] = records;
        Records { raw: records }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_input_laid_out_reads_back_as_it_went_in_headers_included() {
        let mut buffer = InputBuffer::default();
        let payload = b"{\"a\":1}";
        let members =
            [FfiField { key_at: 2, key_len: 1, text_at: 0, text_len: 0, number: 1.0, kind: crate::FIELD_NUMBER }];
        let keyed =
            RecordView { payload, key: Some(b"k"), timestamp_ms: Some(1_700_000_000_000), fields: Some(&members) };
        let headers = [Header { name: b"trace", value: Some(b"42") }, Header { name: b"empty", value: None }];
        let mut fill = buffer.fill();
        fill.push(RecordView::bytes(b"plain"), [Header { name: b"first", value: None }]);
        fill.push(keyed, headers);
        fill.push(RecordView { key: Some(b""), ..RecordView::bytes(b"") }, []);
        let records = fill.finish();
        assert_eq!(records.len(), 3);
        let views: Vec<RecordView<'_>> = records.iter().collect();
        assert_eq!(
            views,
            [RecordView::bytes(b"plain"), keyed, RecordView { key: Some(b""), ..RecordView::bytes(b"") }]
        );
        // The members go through as they came; a record without has none.
        assert!(views[0].fields.is_none());
        assert_eq!(views[1].fields.map(|f| (f.as_ptr(), f.len())), Some((members.as_ptr(), 1)));
        let raw = records.as_ffi();
        assert!(raw[2].headers.is_null() && raw[2].header_count == 0);
        // SAFETY: the headers live in `buffer`, borrowed by `records`.
        let headers_of = |r: &FfiRecord| -> Vec<Header<'_>> {
            let laid: &[FfiHeader] = unsafe { raw_slice(r.headers, r.header_count) };
            laid.iter().map(|h| unsafe { Header { name: h.name.as_bytes(), value: h.value.as_opt() } }).collect()
        };
        assert_eq!(headers_of(&raw[0]), [Header { name: b"first", value: None }]);
        assert_eq!(headers_of(&raw[1]), headers);
        // A new input drops the old one.
        assert_eq!(
            buffer.lay_out([RecordView::bytes(b"again")]).iter().collect::<Vec<_>>(),
            [RecordView::bytes(b"again")]
        );
    }

    #[test]
    fn an_output_decodes_to_its_records_rejects_and_poll() {
        let records = [FfiRecord {
            payload: FfiSlice::new(b"out"),
            key: FfiSlice::NONE,
            timestamp_ms: 5,
            headers: std::ptr::null(),
            header_count: 0,
            fields: std::ptr::null(),
            field_count: 0,
        }];
        let rejects = [
            FfiReject { input_index: 3, payload: FfiSlice::NONE, reason: FfiSlice::new(b"bad"), panicked: 1 },
            FfiReject {
                input_index: NO_INPUT,
                payload: FfiSlice::new(b"raw"),
                reason: FfiSlice::new(b"ragged"),
                panicked: 0,
            },
        ];
        let (poll, wait_ms) = Poll::Wait(std::time::Duration::from_millis(40)).to_ffi();
        let output = FfiOutput {
            records: records.as_ptr(),
            record_count: 1,
            rejects: rejects.as_ptr(),
            reject_count: 2,
            poll,
            wait_ms,
        };
        // SAFETY: everything the output points at lives in this function.
        let decoded = unsafe { output.decode() };
        let views: Vec<RecordView<'_>> = decoded.records.iter().collect();
        assert_eq!(views, [RecordView { timestamp_ms: Some(5), ..RecordView::bytes(b"out") }]);
        let rejects: Vec<RejectView<'_>> = decoded.rejects.iter().collect();
        assert_eq!(
            rejects,
            [
                RejectView { input_index: Some(3), payload: None, reason: b"bad", panicked: true },
                RejectView { input_index: None, payload: Some(b"raw"), reason: b"ragged", panicked: false },
            ]
        );
        assert_eq!(decoded.poll, Poll::Wait(std::time::Duration::from_millis(40)));
        // SAFETY: an empty output points at nothing.
        let empty = unsafe { FfiOutput::EMPTY.decode() };
        assert!(empty.records.is_empty() && empty.rejects.is_empty() && empty.poll == Poll::Ready);
    }
}
