//! Safe handles on stage instances living inside plugins.

use std::fmt;
use std::sync::Arc;

use buzz_abi::{
    Decoded, FfiBuf, FfiOutput, FfiSlice, ImageFormat, Records, STATUS_OK, STATUS_PANIC, StageHandle, StageKind,
};

use super::library::{PluginLibrary, read_report};
use crate::state::SavedState;

/// A failed call into a plugin.
#[derive(Debug, Clone)]
pub struct CallError {
    pub panicked: bool,
    pub message: String,
    /// The setting the error is about, if the plugin named one.
    pub setting: Option<String>,
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(setting) = &self.setting {
            write!(f, "{setting}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for CallError {}

fn check(status: i32, err: &FfiBuf) -> Result<(), CallError> {
    if status == STATUS_OK {
        return Ok(());
    }
    let report = read_report(err);
    Err(CallError { panicked: status == STATUS_PANIC, message: report.message, setting: report.setting })
}

/// A batch call's results, as safe views borrowed from the stage until its
/// next call (the borrow of the stage enforces the ABI's lifetime rule).
pub type Batch<'a> = Decoded<'a>;

/// Bytes owned by a plugin, freed by it when dropped.
pub struct PluginBytes(FfiBuf);

impl std::ops::Deref for PluginBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// A stage instance inside a plugin. Used from one thread at a time.
pub struct StageInstance {
    library: Arc<PluginLibrary>,
    handle: StageHandle,
    type_name: String,
    kind: StageKind,
}

// SAFETY: a stage is only ever called from one thread at a time (it is
// moved, never shared); the SDK's stages are `Send`.
unsafe impl Send for StageInstance {}

impl fmt::Debug for StageInstance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} stage {} (plugin {})", self.kind, self.type_name, self.library.name)
    }
}

impl StageInstance {
    /// Builds a stage from its settings (JSON, already checked against its schema).
    pub fn new(library: Arc<PluginLibrary>, type_name: &str, settings: &serde_json::Value) -> Result<Self, CallError> {
        let kind = library.stage(type_name).map(|s| s.kind).ok_or_else(|| CallError {
            panicked: false,
            message: format!("plugin {} has no stage {type_name}", library.name),
            setting: None,
        })?;
        let json = serde_json::to_vec(settings).expect("JSON values always encode");
        let mut handle: StageHandle = std::ptr::null_mut();
        let mut err = FfiBuf::EMPTY;
        // SAFETY: the declaration was checked at load; arguments are valid for the call.
        let status = unsafe {
            (library.decl.stage_new)(FfiSlice::new(type_name.as_bytes()), FfiSlice::new(&json), &mut handle, &mut err)
        };
        check(status, &err)?;
        Ok(StageInstance { library, handle, type_name: type_name.to_string(), kind })
    }

    pub fn type_name(&self) -> &str {
        &self.type_name
    }

    pub fn library(&self) -> &Arc<PluginLibrary> {
        &self.library
    }

    /// Sources: up to `max` new records.
    pub fn poll(&mut self, max: usize) -> Result<Batch<'_>, CallError> {
        let mut out = FfiOutput::EMPTY;
        let mut err = FfiBuf::EMPTY;
        // SAFETY: live handle; valid out-pointers.
        let status = unsafe { (self.library.decl.source_poll)(self.handle, max, &mut out, &mut err) };
        check(status, &err)?;
        // SAFETY: `out` is the output of the last call, borrowed with `self`.
        Ok(unsafe { out.decode() })
    }

    /// Transforms and charts: one batch of input records.
    pub fn process(&mut self, input: Records<'_>) -> Result<Batch<'_>, CallError> {
        let mut out = FfiOutput::EMPTY;
        let mut err = FfiBuf::EMPTY;
        let input = input.as_ffi();
        // SAFETY: live handle; `input`'s records stay valid for the call
        // (`Records` borrows what they point at).
        let status =
            unsafe { (self.library.decl.stage_process)(self.handle, input.as_ptr(), input.len(), &mut out, &mut err) };
        check(status, &err)?;
        // SAFETY: as in `poll`.
        Ok(unsafe { out.decode() })
    }

    /// Transforms: the input has ended; emit what is held back.
    pub fn flush(&mut self) -> Result<Batch<'_>, CallError> {
        let mut out = FfiOutput::EMPTY;
        let mut err = FfiBuf::EMPTY;
        // SAFETY: live handle; valid out-pointers.
        let status = unsafe { (self.library.decl.stage_flush)(self.handle, &mut out, &mut err) };
        check(status, &err)?;
        // SAFETY: as in `poll`.
        Ok(unsafe { out.decode() })
    }

    /// Charts: the plotted data as JSON.
    pub fn frame(&mut self) -> Result<PluginBytes, CallError> {
        let mut out = FfiBuf::EMPTY;
        let mut err = FfiBuf::EMPTY;
        // SAFETY: live handle; valid out-pointers.
        let status = unsafe { (self.library.decl.chart_frame)(self.handle, &mut out, &mut err) };
        check(status, &err)?;
        Ok(PluginBytes(out))
    }

    /// The stage's state as JSON, if it keeps any.
    pub fn save_state(&mut self) -> Result<Option<SavedState>, CallError> {
        let mut out = FfiBuf::EMPTY;
        let mut err = FfiBuf::EMPTY;
        // SAFETY: live handle; valid out-pointers.
        let status = unsafe { (self.library.decl.stage_save_state)(self.handle, &mut out, &mut err) };
        check(status, &err)?;
        if out.as_bytes().is_empty() {
            return Ok(None);
        }
        SavedState::from_json(out.as_bytes()).map(Some).map_err(|message| CallError {
            panicked: false,
            message,
            setting: None,
        })
    }

    pub fn restore_state(&mut self, state: &SavedState) -> Result<(), CallError> {
        let mut err = FfiBuf::EMPTY;
        // SAFETY: live handle; the state's text is valid for the call.
        let status =
            unsafe { (self.library.decl.stage_restore_state)(self.handle, FfiSlice::new(state.json()), &mut err) };
        check(status, &err)
    }

    /// Folds another instance's saved state (from `save_state` on a stage of
    /// the same type, say another partition's) into this one. Sources and
    /// order-sensitive stages refuse with an error and are left as they were.
    pub fn merge_state(&mut self, state: &SavedState) -> Result<(), CallError> {
        let mut err = FfiBuf::EMPTY;
        // SAFETY: live handle; the state's text is valid for the call.
        let status =
            unsafe { (self.library.decl.stage_merge_state)(self.handle, FfiSlice::new(state.json()), &mut err) };
        check(status, &err)
    }

    /// A renderer for this chart's frames, usable from another thread.
    pub fn renderer(&self) -> ChartRenderer {
        ChartRenderer { library: self.library.clone(), type_name: self.type_name.clone() }
    }
}

impl Drop for StageInstance {
    fn drop(&mut self) {
        // SAFETY: the handle is live and freed exactly once.
        unsafe { (self.library.decl.stage_free)(self.handle) };
    }
}

/// Draws frames of one chart type; stateless, so it may run on any thread.
#[derive(Clone)]
pub struct ChartRenderer {
    library: Arc<PluginLibrary>,
    type_name: String,
}

impl ChartRenderer {
    pub fn render(&self, frame: &[u8], format: ImageFormat) -> Result<PluginBytes, CallError> {
        let format = format.to_ffi();
        let mut out = FfiBuf::EMPTY;
        let mut err = FfiBuf::EMPTY;
        // SAFETY: the declaration was checked at load; arguments are valid for the call.
        let status = unsafe {
            (self.library.decl.chart_render)(
                FfiSlice::new(self.type_name.as_bytes()),
                FfiSlice::new(frame),
                format,
                &mut out,
                &mut err,
            )
        };
        check(status, &err)?;
        Ok(PluginBytes(out))
    }
}
