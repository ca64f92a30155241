//! The one place with unsafe FFI glue: it turns the safe stage traits into
//! the C functions of [`PluginDeclaration`]. Plugin crates never touch it;
//! they call [`export_plugin!`](crate::export_plugin).

use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::abi::*;
use crate::frame_cache;
use crate::panics::panic_message;
use crate::stage::{Chart, ImageFormat, Poll, Source, StageError, StageKind, Transform};
use crate::{Output, Record};

/// A stage with its kind erased, as the glue drives it.
pub(crate) trait ErasedStage: Send {
    fn poll(&mut self, _max: usize) -> Result<FfiOutput, String> {
        Err("this stage is not a source".into())
    }
    fn process(&mut self, _input: &[FfiRecord]) -> Result<FfiOutput, String> {
        Err("this stage takes no input".into())
    }
    fn flush(&mut self) -> Result<FfiOutput, String> {
        Ok(FfiOutput::EMPTY)
    }
    fn frame(&self) -> Result<Vec<u8>, String> {
        Err("this stage is not a chart".into())
    }
    fn save_state(&self) -> Option<serde_json::Value>;
    fn restore_state(&mut self, state: serde_json::Value) -> Result<(), String>;
    /// Sources refuse: a read position does not merge.
    fn merge_state(&mut self, state: serde_json::Value) -> Result<(), String>;
}

type BuildFn = fn(&[u8]) -> Result<Box<dyn ErasedStage>, StageError>;
type RenderFn = fn(&[u8], ImageFormat) -> Result<Vec<u8>, String>;

/// One stage a plugin offers. Made with [`source`], [`transform`] or [`chart`].
pub struct StageEntry {
    pub type_name: &'static str,
    pub kind: StageKind,
    pub description: &'static str,
    pub(crate) schema: fn() -> serde_json::Value,
    pub(crate) build: BuildFn,
    pub(crate) render: Option<RenderFn>,
}

/// A plugin: its name and stages. Implemented by [`export_plugin!`](crate::export_plugin).
pub trait Plugin: 'static {
    const NAME: &'static str;
    const VERSION: &'static str;
    const STAGES: &'static [StageEntry];
}

pub const fn source<S: Source>() -> StageEntry {
    StageEntry {
        type_name: S::TYPE,
        kind: StageKind::Source,
        description: S::DESCRIPTION,
        schema: schema_of::<S::Settings>,
        build: build_source::<S>,
        render: None,
    }
}

pub const fn transform<T: Transform>() -> StageEntry {
    StageEntry {
        type_name: T::TYPE,
        kind: StageKind::Transform,
        description: T::DESCRIPTION,
        schema: schema_of::<T::Settings>,
        build: build_transform::<T>,
        render: None,
    }
}

pub const fn chart<C: Chart>() -> StageEntry {
    StageEntry {
        type_name: C::TYPE,
        kind: StageKind::Chart,
        description: C::DESCRIPTION,
        schema: schema_of::<C::Settings>,
        build: build_chart::<C>,
        render: Some(render_chart::<C>),
    }
}

fn schema_of<S: schemars::JsonSchema>() -> serde_json::Value {
    schemars::schema_for!(S).to_value()
}

pub(crate) fn parse_settings<S: serde::de::DeserializeOwned>(json: &[u8]) -> Result<S, StageError> {
    let json = if json.is_empty() { b"{}" as &[u8] } else { json };
    serde_json::from_slice(json).map_err(|e| StageError::new(format!("invalid settings: {e}")))
}

struct SourceStage<S> {
    inner: S,
    out: Output,
}

struct TransformStage<T> {
    inner: T,
    out: Output,
}

struct ChartStage<C> {
    inner: C,
    out: Output,
}

fn build_source<S: Source>(json: &[u8]) -> Result<Box<dyn ErasedStage>, StageError> {
    let inner = S::new(parse_settings(json)?)?;
    Ok(Box::new(SourceStage { inner, out: Output::new() }))
}

fn build_transform<T: Transform>(json: &[u8]) -> Result<Box<dyn ErasedStage>, StageError> {
    let inner = T::new(parse_settings(json)?)?;
    Ok(Box::new(TransformStage { inner, out: Output::new() }))
}

fn build_chart<C: Chart>(json: &[u8]) -> Result<Box<dyn ErasedStage>, StageError> {
    let inner = C::new(parse_settings(json)?)?;
    Ok(Box::new(ChartStage { inner, out: Output::new() }))
}

fn render_chart<C: Chart>(frame: &[u8], format: ImageFormat) -> Result<Vec<u8>, String> {
    if let Some(kept) = frame_cache::find::<C::Frame>(frame) {
        return C::render(&kept, format);
    }
    let frame: C::Frame = serde_json::from_slice(frame).map_err(|e| format!("invalid chart frame: {e}"))?;
    C::render(&frame, format)
}

/// Runs `each` on every input record with panics caught per record: a
/// record that errs or panics is dead-lettered and what it emitted dropped.
fn for_each_record(
    input: &[FfiRecord],
    out: &mut Output,
    mut each: impl FnMut(&Record<'_>, &mut Output) -> Result<(), String>,
) {
    for (index, raw) in input.iter().enumerate() {
        // SAFETY: the host guarantees input records are valid for the call.
        let record = unsafe { Record::from_ffi(raw) };
        let mark = out.begin_input(record.key(), raw.timestamp_ms);
        match catch_unwind(AssertUnwindSafe(|| each(&record, out))) {
            Ok(Ok(())) => {}
            Ok(Err(reason)) => out.reject_input(index, mark, &reason, false),
            Err(panic) => out.reject_input(index, mark, &panic_message(panic), true),
        }
        out.end_input();
    }
}

impl<S: Source> ErasedStage for SourceStage<S> {
    fn poll(&mut self, max: usize) -> Result<FfiOutput, String> {
        self.out.clear();
        let poll = self.inner.poll(max, &mut self.out)?;
        Ok(self.out.finish(poll))
    }
    fn save_state(&self) -> Option<serde_json::Value> {
        self.inner.save_state()
    }
    fn restore_state(&mut self, state: serde_json::Value) -> Result<(), String> {
        self.inner.restore_state(state)
    }
    fn merge_state(&mut self, _state: serde_json::Value) -> Result<(), String> {
        Err(format!("{} is a source: sources cannot merge partial states", S::TYPE))
    }
}

impl<T: Transform> ErasedStage for TransformStage<T> {
    fn process(&mut self, input: &[FfiRecord]) -> Result<FfiOutput, String> {
        self.out.clear();
        let inner = &mut self.inner;
        for_each_record(input, &mut self.out, |record, out| inner.process(record, out));
        self.inner.end_batch(&mut self.out)?;
        Ok(self.out.finish(Poll::Ready))
    }
    fn flush(&mut self) -> Result<FfiOutput, String> {
        self.out.clear();
        self.inner.flush(&mut self.out)?;
        Ok(self.out.finish(Poll::Ready))
    }
    fn save_state(&self) -> Option<serde_json::Value> {
        self.inner.save_state()
    }
    fn restore_state(&mut self, state: serde_json::Value) -> Result<(), String> {
        self.inner.restore_state(state)
    }
    fn merge_state(&mut self, state: serde_json::Value) -> Result<(), String> {
        self.inner.merge_state(state)
    }
}

impl<C: Chart> ErasedStage for ChartStage<C> {
    fn process(&mut self, input: &[FfiRecord]) -> Result<FfiOutput, String> {
        self.out.clear();
        let inner = &mut self.inner;
        for_each_record(input, &mut self.out, |record, _| inner.ingest(record));
        Ok(self.out.finish(Poll::Ready))
    }
    fn frame(&self) -> Result<Vec<u8>, String> {
        let frame = self.inner.frame();
        let bytes = serde_json::to_vec(&frame).map_err(|e| format!("cannot encode frame: {e}"))?;
        frame_cache::keep(&bytes, frame);
        Ok(bytes)
    }
    fn save_state(&self) -> Option<serde_json::Value> {
        self.inner.save_state()
    }
    fn restore_state(&mut self, state: serde_json::Value) -> Result<(), String> {
        self.inner.restore_state(state)
    }
    fn merge_state(&mut self, state: serde_json::Value) -> Result<(), String> {
        self.inner.merge_state(state)
    }
}

// ---------------------------------------------------------------------------
// The exported C functions.
// ---------------------------------------------------------------------------

/// The declaration a plugin exports; built by [`export_plugin!`](crate::export_plugin).
pub const fn declaration<P: Plugin>() -> PluginDeclaration {
    PluginDeclaration {
        magic: MAGIC,
        abi_version: ABI_VERSION,
        declaration_size: std::mem::size_of::<PluginDeclaration>() as u32,
        sdk_version: FfiSlice::from_static(env!("CARGO_PKG_VERSION")),
        plugin_name: FfiSlice::from_static(P::NAME),
        plugin_version: FfiSlice::from_static(P::VERSION),
        init: ffi_init,
        describe: ffi_describe::<P>,
        stage_new: ffi_stage_new::<P>,
        stage_free: ffi_stage_free,
        stage_save_state: ffi_save_state,
        stage_restore_state: ffi_restore_state,
        source_poll: ffi_source_poll,
        stage_process: ffi_stage_process,
        stage_flush: ffi_stage_flush,
        chart_frame: ffi_chart_frame,
        chart_render: ffi_chart_render::<P>,
        stage_merge_state: ffi_merge_state,
    }
}

/// Runs `body` with panics caught, writing any error report to `err`.
fn guarded(err: *mut FfiBuf, body: impl FnOnce() -> Result<(), ErrorReport>) -> i32 {
    let (status, report) = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return STATUS_OK,
        Ok(Err(report)) => (STATUS_ERROR, report),
        Err(panic) => (STATUS_PANIC, ErrorReport { message: panic_message(panic), setting: None }),
    };
    if !err.is_null() {
        let json = serde_json::to_vec(&report).unwrap_or_else(|_| b"{}".to_vec());
        // SAFETY: the host passes a valid, writable FfiBuf; `write` avoids
        // dropping whatever (empty) value it held.
        unsafe { std::ptr::write(err, FfiBuf::from_vec(json)) };
    }
    status
}

fn report(message: impl Into<String>) -> ErrorReport {
    ErrorReport { message: message.into(), setting: None }
}

/// # Safety
/// `stage` must be a live handle made by `ffi_stage_new` of this library.
unsafe fn stage_mut<'a>(stage: StageHandle) -> &'a mut Box<dyn ErasedStage> {
    // SAFETY: guaranteed by the caller.
    unsafe { &mut *(stage as *mut Box<dyn ErasedStage>) }
}

fn write_buf(out: *mut FfiBuf, bytes: Vec<u8>) {
    // SAFETY: the host passes a valid, writable FfiBuf.
    unsafe { std::ptr::write(out, FfiBuf::from_vec(bytes)) };
}

unsafe extern "C" fn ffi_init(host: *const HostApi) -> i32 {
    guarded(std::ptr::null_mut(), || {
        crate::panics::install_hook();
        // SAFETY: the host passes a valid HostApi that outlives the library.
        if let Some(host) = unsafe { host.as_ref() } {
            crate::logging::install(host);
        }
        Ok(())
    })
}

unsafe extern "C" fn ffi_describe<P: Plugin>(out: *mut FfiBuf) -> i32 {
    guarded(std::ptr::null_mut(), || {
        let stages: Vec<serde_json::Value> = P::STAGES
            .iter()
            .map(|s| {
                serde_json::json!({
                    "type": s.type_name,
                    "kind": s.kind,
                    "description": s.description,
                    "settings": (s.schema)(),
                })
            })
            .collect();
        let json = serde_json::json!({ "plugin": P::NAME, "version": P::VERSION, "stages": stages });
        write_buf(out, serde_json::to_vec(&json).map_err(|e| report(e.to_string()))?);
        Ok(())
    })
}

fn find_stage<P: Plugin>(stage_type: FfiSlice) -> Result<&'static StageEntry, ErrorReport> {
    // SAFETY: the host passes a valid slice for the call.
    let name = unsafe { stage_type.as_bytes() };
    P::STAGES
        .iter()
        .find(|s| s.type_name.as_bytes() == name)
        .ok_or_else(|| report(format!("plugin {} has no stage {:?}", P::NAME, String::from_utf8_lossy(name))))
}

unsafe extern "C" fn ffi_stage_new<P: Plugin>(
    stage_type: FfiSlice,
    settings: FfiSlice,
    out: *mut StageHandle,
    err: *mut FfiBuf,
) -> i32 {
    guarded(err, || {
        let entry = find_stage::<P>(stage_type)?;
        // SAFETY: the host passes a valid slice for the call.
        let json = unsafe { settings.as_bytes() };
        let stage = (entry.build)(json).map_err(|e| ErrorReport { message: e.message, setting: e.setting })?;
        let handle = Box::into_raw(Box::new(stage)) as *mut c_void;
        // SAFETY: `out` is a valid, writable pointer from the host.
        unsafe { *out = handle };
        Ok(())
    })
}

unsafe extern "C" fn ffi_stage_free(stage: StageHandle) {
    if stage.is_null() {
        return;
    }
    // A panicking Drop must not unwind into the host; there is nobody to
    // report it to, so it is only logged.
    let result = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the handle came from `ffi_stage_new` and is freed once.
        drop(unsafe { Box::from_raw(stage as *mut Box<dyn ErasedStage>) });
    }));
    if let Err(panic) = result {
        log::error!("stage panicked while being dropped: {}", panic_message(panic));
    }
}

unsafe extern "C" fn ffi_save_state(stage: StageHandle, out: *mut FfiBuf, err: *mut FfiBuf) -> i32 {
    guarded(err, || {
        // SAFETY: a live handle from the host.
        let stage = unsafe { stage_mut(stage) };
        if let Some(state) = stage.save_state() {
            write_buf(out, serde_json::to_vec(&state).map_err(|e| report(e.to_string()))?);
        }
        Ok(())
    })
}

unsafe extern "C" fn ffi_restore_state(stage: StageHandle, state: FfiSlice, err: *mut FfiBuf) -> i32 {
    guarded(err, || {
        // SAFETY: a live handle and a valid slice from the host.
        let (stage, state) = unsafe { (stage_mut(stage), state.as_bytes()) };
        let state = serde_json::from_slice(state).map_err(|e| report(format!("invalid state: {e}")))?;
        stage.restore_state(state).map_err(report)
    })
}

unsafe extern "C" fn ffi_merge_state(stage: StageHandle, state: FfiSlice, err: *mut FfiBuf) -> i32 {
    guarded(err, || {
        // SAFETY: a live handle and a valid slice from the host.
        let (stage, state) = unsafe { (stage_mut(stage), state.as_bytes()) };
        let state = serde_json::from_slice(state).map_err(|e| report(format!("invalid state to merge: {e}")))?;
        stage.merge_state(state).map_err(report)
    })
}

unsafe extern "C" fn ffi_source_poll(stage: StageHandle, max: usize, out: *mut FfiOutput, err: *mut FfiBuf) -> i32 {
    guarded(err, || {
        // SAFETY: a live handle from the host.
        let output = unsafe { stage_mut(stage) }.poll(max).map_err(report)?;
        // SAFETY: `out` is a valid, writable pointer from the host.
        unsafe { *out = output };
        Ok(())
    })
}

unsafe extern "C" fn ffi_stage_process(
    stage: StageHandle,
    input: *const FfiRecord,
    count: usize,
    out: *mut FfiOutput,
    err: *mut FfiBuf,
) -> i32 {
    guarded(err, || {
        let input = if input.is_null() || count == 0 {
            &[][..]
        } else {
            // SAFETY: the host passes `count` valid records.
            unsafe { std::slice::from_raw_parts(input, count) }
        };
        // SAFETY: a live handle from the host.
        let output = unsafe { stage_mut(stage) }.process(input).map_err(report)?;
        // SAFETY: `out` is a valid, writable pointer from the host.
        unsafe { *out = output };
        Ok(())
    })
}

unsafe extern "C" fn ffi_stage_flush(stage: StageHandle, out: *mut FfiOutput, err: *mut FfiBuf) -> i32 {
    guarded(err, || {
        // SAFETY: a live handle from the host.
        let output = unsafe { stage_mut(stage) }.flush().map_err(report)?;
        // SAFETY: `out` is a valid, writable pointer from the host.
        unsafe { *out = output };
        Ok(())
    })
}

unsafe extern "C" fn ffi_chart_frame(stage: StageHandle, out: *mut FfiBuf, err: *mut FfiBuf) -> i32 {
    guarded(err, || {
        // SAFETY: a live handle from the host.
        let frame = unsafe { stage_mut(stage) }.frame().map_err(report)?;
        write_buf(out, frame);
        Ok(())
    })
}

unsafe extern "C" fn ffi_chart_render<P: Plugin>(
    stage_type: FfiSlice,
    frame: FfiSlice,
    format: u32,
    out: *mut FfiBuf,
    err: *mut FfiBuf,
) -> i32 {
    guarded(err, || {
        let entry = find_stage::<P>(stage_type)?;
        let render = entry.render.ok_or_else(|| report(format!("stage {} is not a chart", entry.type_name)))?;
        let format = ImageFormat::from_ffi(format).ok_or_else(|| report(format!("unknown image format {format}")))?;
        // SAFETY: the host passes a valid slice for the call.
        let image = render(unsafe { frame.as_bytes() }, format).map_err(report)?;
        write_buf(out, image);
        Ok(())
    })
}

/// Builds a stage of plugin `P` by type without going through a library,
/// for the [`testing`](crate::testing) harness.
pub(crate) fn build_entry(
    entry: &StageEntry,
    settings: &serde_json::Value,
) -> Result<Box<dyn ErasedStage>, StageError> {
    let json = serde_json::to_vec(settings).map_err(|e| StageError::new(e.to_string()))?;
    (entry.build)(&json)
}

pub(crate) fn render_entry(entry: &StageEntry, frame: &[u8], format: ImageFormat) -> Result<Vec<u8>, String> {
    match entry.render {
        Some(render) => render(frame, format),
        None => Err(format!("stage {} is not a chart", entry.type_name)),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use serde::{Deserialize, Deserializer, Serialize};

    use super::*;
    use crate::testing::TestStage;

    /// Frames parsed from JSON so far.
    static PARSED: AtomicUsize = AtomicUsize::new(0);

    #[derive(Serialize)]
    struct CountedFrame {
        seen: u64,
    }

    impl<'de> Deserialize<'de> for CountedFrame {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            #[derive(Deserialize)]
            struct Plain {
                seen: u64,
            }
            PARSED.fetch_add(1, Ordering::SeqCst);
            Plain::deserialize(deserializer).map(|p| CountedFrame { seen: p.seen })
        }
    }

    struct Counting {
        seen: u64,
    }

    impl Chart for Counting {
        const TYPE: &'static str = "counting";
        const DESCRIPTION: &'static str = "Counts records.";
        type Settings = serde_json::Value;
        type Frame = CountedFrame;

        fn new(_: serde_json::Value) -> Result<Self, StageError> {
            Ok(Counting { seen: 0 })
        }
        fn ingest(&mut self, _: &Record<'_>) -> Result<(), String> {
            self.seen += 1;
            Ok(())
        }
        fn frame(&self) -> CountedFrame {
            CountedFrame { seen: self.seen }
        }
        fn render(frame: &CountedFrame, _: ImageFormat) -> Result<Vec<u8>, String> {
            Ok(frame.seen.to_string().into_bytes())
        }
    }

    #[test]
    fn a_frame_the_stage_just_made_is_drawn_without_parsing_its_json_again() {
        let _alone = frame_cache::TEST_LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let stage = TestStage::chart::<Counting>(serde_json::json!({})).unwrap();
        assert_eq!(stage.render(ImageFormat::Svg).unwrap(), b"0");
        assert_eq!(PARSED.load(Ordering::SeqCst), 0, "drawn from the kept frame");
        // A frame from elsewhere (a checkpoint, a merged view) is parsed.
        assert_eq!(render_chart::<Counting>(br#"{"seen": 7}"#, ImageFormat::Svg).unwrap(), b"7");
        assert_eq!(PARSED.load(Ordering::SeqCst), 1);
        assert!(render_chart::<Counting>(b"{}", ImageFormat::Svg).unwrap_err().starts_with("invalid chart frame"));
    }
}
