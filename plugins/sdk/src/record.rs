//! A read-only view of one input record.

use serde::Deserialize;

use crate::abi::{FfiField, FfiHeader, FfiRecord, NO_TIMESTAMP};

/// One record handed to a stage. Borrowed from the host for the duration of
/// the call; copy out what you keep.
#[derive(Clone, Copy)]
pub struct Record<'a> {
    raw: &'a FfiRecord,
}

pub use crate::abi::Header;

impl<'a> Record<'a> {
    /// # Safety
    /// The record's pointers must be valid for `'a` (the ABI guarantees this
    /// for records passed into a stage call).
    pub(crate) unsafe fn from_ffi(raw: &'a FfiRecord) -> Self {
        Record { raw }
    }

    /// The record's bytes: usually one JSON object.
    pub fn payload(&self) -> &'a [u8] {
        // SAFETY: valid for 'a per `from_ffi`.
        unsafe { self.raw.payload.as_bytes() }
    }

    /// The payload as UTF-8 text.
    pub fn text(&self) -> Result<&'a str, String> {
        std::str::from_utf8(self.payload()).map_err(|e| format!("payload is not valid UTF-8: {e}"))
    }

    /// Decode the payload as JSON into `T` (borrowing strings where it can).
    /// The error names the line and column of the problem.
    pub fn json<T: Deserialize<'a>>(&self) -> Result<T, String> {
        serde_json::from_slice(self.payload()).map_err(|e| format!("invalid JSON record: {e}"))
    }

    /// The values of a few named fields of a JSON-object payload, without
    /// decoding the rest (see [`crate::fields::pick`]).
    ///
    /// In a stage's hot path, bind the result and match it where it lies
    /// (`let picked = record.pick(..); match &picked { .. }`): moving the
    /// array out through `?` cost the smoker's stall transform a
    /// store-forwarding stall per record (issue 17).
    #[inline]
    pub fn pick<const N: usize>(&self, names: [&str; N]) -> Result<[Option<crate::fields::Scalar<'a>>; N], String> {
        match self.fields() {
            Some(fields) => Ok(crate::fields::pick_indexed(self.payload(), fields, names)),
            None => crate::fields::pick(self.payload(), names),
        }
    }

    /// The payload's members, when whoever made the record found them.
    pub(crate) fn fields(&self) -> Option<&'a [FfiField]> {
        if self.raw.fields.is_null() {
            return None;
        }
        // SAFETY: valid for 'a per `from_ffi`.
        Some(unsafe { std::slice::from_raw_parts(self.raw.fields, self.raw.field_count) })
    }

    pub fn key(&self) -> Option<&'a [u8]> {
        // SAFETY: valid for 'a per `from_ffi`.
        unsafe { self.raw.key.as_opt() }
    }

    /// Milliseconds since the Unix epoch (the Kafka message timestamp, for
    /// records that came through Kafka).
    pub fn timestamp_ms(&self) -> Option<i64> {
        (self.raw.timestamp_ms != NO_TIMESTAMP).then_some(self.raw.timestamp_ms)
    }

    pub fn headers(&self) -> impl Iterator<Item = Header<'a>> + 'a {
        let headers: &'a [FfiHeader] = if self.raw.headers.is_null() || self.raw.header_count == 0 {
            &[]
        } else {
            // SAFETY: valid for 'a per `from_ffi`.
            unsafe { std::slice::from_raw_parts(self.raw.headers, self.raw.header_count) }
        };
        headers.iter().map(|h| Header {
            // SAFETY: valid for 'a per `from_ffi`.
            name: unsafe { h.name.as_bytes() },
            value: unsafe { h.value.as_opt() },
        })
    }

    /// The first header with this name.
    pub fn header(&self, name: &str) -> Option<Header<'a>> {
        self.headers().find(|h| h.name == name.as_bytes())
    }
}

impl std::fmt::Debug for Record<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Record")
            .field("payload", &String::from_utf8_lossy(self.payload()))
            .field("key", &self.key().map(String::from_utf8_lossy))
            .field("timestamp_ms", &self.timestamp_ms())
            .finish()
    }
}
