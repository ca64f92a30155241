//! The traits a plugin author implements: one per stage kind.
//!
//! Stages are plain synchronous Rust. The runner calls them from one thread
//! at a time, with a whole batch per call; the SDK catches panics per record
//! so one bad record is dead-lettered and the rest go on.

use std::fmt;

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;

// Defined with the ABI that encodes them; re-exported from the crate root.
pub use crate::abi::{ImageFormat, Poll, StageKind};
use crate::{Output, Record};

/// An error building or reconfiguring a stage. Naming the setting lets the
/// runner point at its line and column in the pipeline file.
#[derive(Debug, Clone)]
pub struct StageError {
    pub setting: Option<String>,
    pub message: String,
}

impl StageError {
    pub fn new(message: impl Into<String>) -> Self {
        StageError { setting: None, message: message.into() }
    }

    /// An error about one setting, e.g. `StageError::setting("path", "no such file")`.
    pub fn setting(setting: impl Into<String>, message: impl Into<String>) -> Self {
        StageError { setting: Some(setting.into()), message: message.into() }
    }
}

impl fmt::Display for StageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.setting {
            Some(s) => write!(f, "{s}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for StageError {}

impl From<String> for StageError {
    fn from(message: String) -> Self {
        StageError::new(message)
    }
}

impl From<&str> for StageError {
    fn from(message: &str) -> Self {
        StageError::new(message)
    }
}

/// Settings of a stage: deserialised from the pipeline file's table (with
/// `type` removed) and described as a JSON Schema for `buzz check`, editors
/// and `buzz plugins`. Derive `Deserialize` and `JsonSchema`, use
/// `#[serde(deny_unknown_fields)]` and give every optional setting a default.
pub trait Settings: DeserializeOwned + JsonSchema {}
impl<T: DeserializeOwned + JsonSchema> Settings for T {}

/// Produces records: reads a file, generates data, ...
pub trait Source: Send + Sized + 'static {
    /// The name used as `type = "..."` in `[source]`.
    const TYPE: &'static str;
    const DESCRIPTION: &'static str;
    type Settings: Settings;

    fn new(settings: Self::Settings) -> Result<Self, StageError>;

    /// Emit at most `max` records into `out`, then say when to call again.
    /// Must not block: return `Poll::Wait` instead of sleeping.
    fn poll(&mut self, max: usize, out: &mut Output) -> Result<Poll, String>;

    /// State to carry into a rebuilt stage on hot reload (a read position, say).
    fn save_state(&self) -> Option<serde_json::Value> {
        None
    }

    fn restore_state(&mut self, _state: serde_json::Value) -> Result<(), String> {
        Ok(())
    }

    // No `merge_state`: a source's state is a position in its own input,
    // and two positions do not add up to one.
}

/// Turns records into other records: counts, averages, detects.
pub trait Transform: Send + Sized + 'static {
    /// The name used as `type = "..."` in `[transform]`.
    const TYPE: &'static str;
    const DESCRIPTION: &'static str;
    type Settings: Settings;

    fn new(settings: Self::Settings) -> Result<Self, StageError>;

    /// Handle one record. `Err` (or a panic) sends the record to the
    /// dead-letter output with that reason; anything it emitted is dropped.
    fn process(&mut self, record: &Record<'_>, out: &mut Output) -> Result<(), String>;

    /// Called after each batch: aggregating transforms emit here, once per
    /// key, instead of once per record.
    fn end_batch(&mut self, _out: &mut Output) -> Result<(), String> {
        Ok(())
    }

    /// The input has ended (a finite source is exhausted, or the pipeline
    /// stops): emit whatever is held back, such as a partial batch.
    fn flush(&mut self, _out: &mut Output) -> Result<(), String> {
        Ok(())
    }

    /// State to carry into a rebuilt stage on hot reload (counts, a window).
    fn save_state(&self) -> Option<serde_json::Value> {
        None
    }

    fn restore_state(&mut self, _state: serde_json::Value) -> Result<(), String> {
        Ok(())
    }

    /// Folds the saved state of another instance of this stage type (one that saw a
    /// different part of the input, such as another partition) into this one, so this
    /// instance holds what a single instance that saw both inputs would.
    ///
    /// `other` is what the other instance's [`save_state`](Transform::save_state)
    /// returned; this instance keeps its own settings (the other's are not
    /// seen). The usual rules:
    ///
    /// * counts and sums add per key; a key only one side has is kept, keys
    ///   new here joining after this instance's own;
    /// * means combine by sum and count (never by averaging averages);
    /// * an aggregating transform marks every group the other state holds as
    ///   changed, so its next [`end_batch`](Transform::end_batch) (an empty
    ///   batch will do) re-announces the merged totals to the chart downstream
    ///   (groups only this instance holds have not changed and are not).
    ///   Records the other instance held back (a partial batch) are held back
    ///   here too, and applied with this instance's batching.
    ///
    /// A stage whose state depends on the order of its whole input (a rolling
    /// window over consecutive readings) cannot merge, and keeps this default.
    /// Sources never merge. On `Err` the stage must be left as it was.
    fn merge_state(&mut self, _other: serde_json::Value) -> Result<(), String> {
        Err(format!("{} cannot merge partial states", Self::TYPE))
    }
}

/// Keeps chart state from records and draws it.
pub trait Chart: Send + Sized + 'static {
    /// The name used as `type = "..."` in `[chart]`.
    const TYPE: &'static str;
    const DESCRIPTION: &'static str;
    type Settings: Settings;
    /// The plotted data: written as `<output>.json` and passed to `render`.
    /// It must hold `title`, `kind`, `series` and `markers`. The last few
    /// are kept typed, so drawing one need not parse its JSON back.
    type Frame: Serialize + DeserializeOwned + Send + Sync + 'static;

    fn new(settings: Self::Settings) -> Result<Self, StageError>;

    /// Fold one record into the chart state. `Err` dead-letters the record.
    fn ingest(&mut self, record: &Record<'_>) -> Result<(), String>;

    /// The current plotted data. Called at the frame rate, not per record.
    fn frame(&self) -> Self::Frame;

    /// Draw a frame. Stateless: the runner may call it on another thread.
    fn render(frame: &Self::Frame, format: ImageFormat) -> Result<Vec<u8>, String>;

    /// State to carry into a rebuilt (restyled) chart on hot reload.
    fn save_state(&self) -> Option<serde_json::Value> {
        None
    }

    fn restore_state(&mut self, _state: serde_json::Value) -> Result<(), String> {
        Ok(())
    }

    /// Folds the saved state of another instance of this stage type (one that saw a
    /// different part of the input, such as another partition) into this one, so this
    /// instance holds what a single instance that saw both inputs would.
    ///
    /// `other` is what the other instance's [`save_state`](Chart::save_state)
    /// returned; this chart keeps its own settings (title, size, bins, ...).
    /// The usual rules:
    ///
    /// * counts add (bars per category, histogram bins, totals); a category
    ///   only one side has is kept;
    /// * means combine by sum and count;
    /// * line points are the union of both sides' points ordered by x, thinned
    ///   to this chart's bounds as if ingested; markers are the union too.
    ///
    /// The next [`frame`](Chart::frame) shows the merged data. A chart whose
    /// state depends on the order of its whole input cannot merge, and keeps
    /// this default. On `Err` the chart must be left as it was.
    fn merge_state(&mut self, _other: serde_json::Value) -> Result<(), String> {
        Err(format!("{} cannot merge partial states", Self::TYPE))
    }
}
