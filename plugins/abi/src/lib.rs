//! # buzz-abi: the C ABI between the buzz runner and its plugins
//!
//! Both sides depend on this crate: the runner's plugin host, and the
//! plugin SDK (which re-exports it as `buzz_sdk::abi`). It holds three things:
//!
//! * the `#[repr(C)]` types and constants that cross a library boundary
//!   (this page), with [`ABI_VERSION`];
//! * the values they encode: [`StageKind`], [`Poll`], [`ImageFormat`];
//! * safe views of records ([`RecordView`], [`RejectView`]), the one decoder
//!   of a stage call's output ([`FfiOutput::decode`]) and the one encoder of
//!   a call's input ([`InputBuffer`]), so neither side reads a raw record by
//!   hand.
//!
//! Everything that crosses a library boundary is `#[repr(C)]` and made of
//! plain pointers, integers and function pointers: Rust's own ABI, trait
//! objects and allocators are never shared. The rules:
//!
//! * A plugin exports one static, [`DECLARATION_SYMBOL`], of type
//!   [`PluginDeclaration`]. Its first three fields (magic, ABI version, size)
//!   never move, so a runner can read them from any plugin and refuse a
//!   mismatch before it calls anything.
//! * Memory is freed by the side that allocated it. Owned buffers handed to
//!   the host are [`FfiBuf`]s that carry their release function; batch output
//!   ([`FfiOutput`]) is borrowed from the stage and stays valid until the next
//!   call on that stage.
//! * Records travel in batches: one call per batch, never one per record.
//! * Every exported function catches panics and reports them as
//!   [`STATUS_PANIC`]; no unwind ever crosses the boundary.

mod kinds;
mod views;

pub use kinds::{ImageFormat, Poll, StageKind};
pub use views::{Decoded, Header, InputBuffer, InputFill, RecordView, Records, RejectView, Rejects};

use std::ffi::c_void;

/// `b"BUZZPLUG"` read as a big-endian integer.
pub const MAGIC: u64 = u64::from_be_bytes(*b"BUZZPLUG");

/// Bumped whenever anything in the `#[repr(C)]` types or constants of this
/// crate changes shape or meaning (3: records carry their members, [`FfiField`]).
pub const ABI_VERSION: u32 = 3;

/// Name of the exported declaration static (NUL-terminated for `dlsym`).
pub const DECLARATION_SYMBOL: &[u8] = b"BUZZ_PLUGIN_DECLARATION\0";

pub const STATUS_OK: i32 = 0;
/// The call failed; the error buffer holds an [`ErrorReport`] as JSON.
pub const STATUS_ERROR: i32 = 1;
/// The plugin panicked; the error buffer holds an [`ErrorReport`] as JSON.
pub const STATUS_PANIC: i32 = 2;

pub const POLL_READY: u32 = 0;
pub const POLL_WAIT: u32 = 1;
pub const POLL_DONE: u32 = 2;

pub const FORMAT_SVG: u32 = 0;
pub const FORMAT_PNG: u32 = 1;

/// `timestamp_ms` value meaning "this record carries no timestamp".
pub const NO_TIMESTAMP: i64 = i64::MIN;

/// `input_index` of a reject that does not stem from an input record
/// (a source rejecting a raw line, say).
pub const NO_INPUT: usize = usize::MAX;

pub const LOG_ERROR: u32 = 1;
pub const LOG_WARN: u32 = 2;
pub const LOG_INFO: u32 = 3;
pub const LOG_DEBUG: u32 = 4;
pub const LOG_TRACE: u32 = 5;

/// Borrowed bytes. A null `ptr` means "absent" (distinct from empty).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct FfiSlice {
    pub ptr: *const u8,
    pub len: usize,
}

// SAFETY: an FfiSlice is a plain (pointer, length) pair; the lifetime rules
// above say who may read it and when.
unsafe impl Send for FfiSlice {}
unsafe impl Sync for FfiSlice {}

impl FfiSlice {
    pub const NONE: FfiSlice = FfiSlice { ptr: std::ptr::null(), len: 0 };

    pub const fn from_static(s: &'static str) -> Self {
        FfiSlice { ptr: s.as_ptr(), len: s.len() }
    }

    pub fn new(bytes: &[u8]) -> Self {
        FfiSlice { ptr: bytes.as_ptr(), len: bytes.len() }
    }

    pub fn opt(bytes: Option<&[u8]>) -> Self {
        bytes.map_or(Self::NONE, Self::new)
    }

    pub fn is_none(&self) -> bool {
        self.ptr.is_null()
    }

    /// # Safety
    /// The slice must point at `len` readable bytes that outlive `'a`.
    pub unsafe fn as_bytes<'a>(self) -> &'a [u8] {
        if self.ptr.is_null() {
            &[]
        } else {
            // SAFETY: guaranteed by the caller.
            unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
        }
    }

    /// # Safety
    /// As for [`FfiSlice::as_bytes`].
    pub unsafe fn as_opt<'a>(self) -> Option<&'a [u8]> {
        if self.ptr.is_null() {
            None
        } else {
            // SAFETY: guaranteed by the caller.
            Some(unsafe { self.as_bytes() })
        }
    }
}

/// An owned byte buffer that knows how to free itself.
///
/// The side that allocated it sets `release`; dropping the buffer on either
/// side calls it, so the memory always returns to its own allocator.
#[repr(C)]
#[derive(Debug)]
pub struct FfiBuf {
    pub ptr: *mut u8,
    pub len: usize,
    pub cap: usize,
    pub release: Option<unsafe extern "C" fn(ptr: *mut u8, len: usize, cap: usize)>,
}

// SAFETY: the buffer is uniquely owned; moving it between threads is fine.
unsafe impl Send for FfiBuf {}

impl FfiBuf {
    pub const EMPTY: FfiBuf = FfiBuf { ptr: std::ptr::null_mut(), len: 0, cap: 0, release: None };

    /// Hands a `Vec` over; it is freed by this same library when dropped.
    pub fn from_vec(bytes: Vec<u8>) -> Self {
        let mut bytes = std::mem::ManuallyDrop::new(bytes);
        FfiBuf { ptr: bytes.as_mut_ptr(), len: bytes.len(), cap: bytes.capacity(), release: Some(release_vec) }
    }

    pub fn as_bytes(&self) -> &[u8] {
        if self.ptr.is_null() {
            &[]
        } else {
            // SAFETY: a non-null FfiBuf owns `len` initialised bytes.
            unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
        }
    }
}

impl Drop for FfiBuf {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            // SAFETY: `release` came with the buffer from its allocator.
            unsafe { release(self.ptr, self.len, self.cap) }
        }
    }
}

unsafe extern "C" fn release_vec(ptr: *mut u8, len: usize, cap: usize) {
    // SAFETY: only ever paired with a buffer made by `FfiBuf::from_vec` in
    // this same library, so the allocator matches.
    drop(unsafe { Vec::from_raw_parts(ptr, len, cap) });
}

/// A record header (Kafka headers, for instance). A null `value` is "no value".
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct FfiHeader {
    pub name: FfiSlice,
    pub value: FfiSlice,
}

/// One record as it crosses the boundary, in either direction.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct FfiRecord {
    pub payload: FfiSlice,
    /// Null when the record has no key.
    pub key: FfiSlice,
    /// Milliseconds since the Unix epoch, or [`NO_TIMESTAMP`].
    pub timestamp_ms: i64,
    pub headers: *const FfiHeader,
    pub header_count: usize,
    /// The payload's members, when it is a flat JSON object whoever made
    /// the record already read ([`FfiField`]); null when not known.
    pub fields: *const FfiField,
    pub field_count: usize,
}

pub const FIELD_STRING: u32 = 0;
pub const FIELD_NUMBER: u32 = 1;
pub const FIELD_TRUE: u32 = 2;
pub const FIELD_FALSE: u32 = 3;
pub const FIELD_NULL: u32 = 4;

/// One member of a record whose payload is a flat JSON object, as the
/// first reader found it, so that later stages pick fields without reading
/// the bytes again (the runner's record check reads every record; a stage
/// that appends a field to its input hands the input's members on, as they
/// are, since the input's bytes start the output). Only objects of plain
/// members are described: keys and strings without escapes, numbers,
/// booleans and nulls, in the payload's order (a key may repeat; the last
/// one counts, as for any JSON reader here). Places are byte offsets into
/// the record's payload.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FfiField {
    /// Where the key's text is (valid UTF-8, no escapes).
    pub key_at: u32,
    pub key_len: u32,
    /// For [`FIELD_STRING`], where the string's text is (valid UTF-8, no
    /// escapes); 0 and 0 otherwise.
    pub text_at: u32,
    pub text_len: u32,
    /// For [`FIELD_NUMBER`], the number's value as serde_json reads it.
    pub number: f64,
    /// [`FIELD_STRING`], [`FIELD_NUMBER`], [`FIELD_TRUE`], [`FIELD_FALSE`]
    /// or [`FIELD_NULL`].
    pub kind: u32,
}

// SAFETY: plain data; see the module rules for lifetimes.
unsafe impl Send for FfiRecord {}

/// A record the stage refused; the host sends it to the dead-letter output.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct FfiReject {
    /// Index into the input batch, or [`NO_INPUT`].
    pub input_index: usize,
    /// The raw bytes, for rejects with no input record (else null).
    pub payload: FfiSlice,
    pub reason: FfiSlice,
    /// 1 when the reason is a caught panic.
    pub panicked: u8,
}

/// What a batch call produced. Borrowed from the stage: valid until the next
/// call on the same stage, or until the stage is freed.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct FfiOutput {
    pub records: *const FfiRecord,
    pub record_count: usize,
    pub rejects: *const FfiReject,
    pub reject_count: usize,
    /// Sources only: [`POLL_READY`], [`POLL_WAIT`] or [`POLL_DONE`].
    pub poll: u32,
    /// Sources only, with [`POLL_WAIT`]: how long to wait before polling again.
    pub wait_ms: u64,
}

impl FfiOutput {
    pub const EMPTY: FfiOutput = FfiOutput {
        records: std::ptr::null(),
        record_count: 0,
        rejects: std::ptr::null(),
        reject_count: 0,
        poll: POLL_READY,
        wait_ms: 0,
    };
}

/// What the host offers a plugin at `init`.
#[repr(C)]
pub struct HostApi {
    pub abi_version: u32,
    /// The most verbose level the host will print (LOG_ERROR..LOG_TRACE).
    pub max_log_level: u32,
    pub log: unsafe extern "C" fn(level: u32, target: FfiSlice, message: FfiSlice),
}

/// An opaque stage instance owned by the plugin.
pub type StageHandle = *mut c_void;

/// The one symbol a plugin exports.
#[repr(C)]
pub struct PluginDeclaration {
    // The stable header: these three fields keep their place in every ABI
    // version, so a runner can always read them.
    pub magic: u64,
    pub abi_version: u32,
    /// `size_of::<PluginDeclaration>()` as the plugin saw it.
    pub declaration_size: u32,

    // ABI version 1.
    pub sdk_version: FfiSlice,
    pub plugin_name: FfiSlice,
    pub plugin_version: FfiSlice,
    pub init: unsafe extern "C" fn(host: *const HostApi) -> i32,
    /// JSON: `{"stages": [{"type", "kind", "description", "settings"}]}`.
    pub describe: unsafe extern "C" fn(out: *mut FfiBuf) -> i32,
    pub stage_new: unsafe extern "C" fn(
        stage_type: FfiSlice,
        settings_json: FfiSlice,
        out: *mut StageHandle,
        err: *mut FfiBuf,
    ) -> i32,
    pub stage_free: unsafe extern "C" fn(stage: StageHandle),
    /// Writes the stage's state as JSON, or leaves `out` empty if it keeps none.
    pub stage_save_state: unsafe extern "C" fn(stage: StageHandle, out: *mut FfiBuf, err: *mut FfiBuf) -> i32,
    pub stage_restore_state: unsafe extern "C" fn(stage: StageHandle, state_json: FfiSlice, err: *mut FfiBuf) -> i32,
    pub source_poll: unsafe extern "C" fn(stage: StageHandle, max: usize, out: *mut FfiOutput, err: *mut FfiBuf) -> i32,
    /// Transforms and charts: take a batch; transforms emit records, both may
    /// reject records.
    pub stage_process: unsafe extern "C" fn(
        stage: StageHandle,
        input: *const FfiRecord,
        count: usize,
        out: *mut FfiOutput,
        err: *mut FfiBuf,
    ) -> i32,
    /// Transforms: the input has ended; emit whatever is held back (a
    /// partial batch, say). Other stages return an empty output.
    pub stage_flush: unsafe extern "C" fn(stage: StageHandle, out: *mut FfiOutput, err: *mut FfiBuf) -> i32,
    /// Charts: the plotted data as JSON.
    pub chart_frame: unsafe extern "C" fn(stage: StageHandle, out: *mut FfiBuf, err: *mut FfiBuf) -> i32,
    /// Charts: draw a frame (from `chart_frame`) as SVG or PNG. Stateless, so
    /// the host may draw on another thread while the stage keeps ingesting.
    pub chart_render: unsafe extern "C" fn(
        stage_type: FfiSlice,
        frame_json: FfiSlice,
        format: u32,
        out: *mut FfiBuf,
        err: *mut FfiBuf,
    ) -> i32,

    // ABI version 2.
    /// Transforms and charts: fold the saved state (from `stage_save_state`)
    /// of another instance of the same stage type into this one, as if this
    /// instance had seen the other's input too. Stages that cannot merge
    /// (sources, order-sensitive windows) return [`STATUS_ERROR`] and stay
    /// as they were.
    pub stage_merge_state: unsafe extern "C" fn(stage: StageHandle, state_json: FfiSlice, err: *mut FfiBuf) -> i32,
}

// SAFETY: the declaration is immutable static data and function pointers.
unsafe impl Sync for PluginDeclaration {}

/// The JSON carried in an error buffer.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ErrorReport {
    pub message: String,
    /// The setting the error is about, when there is one (for `file:line:col`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setting: Option<String>,
}
