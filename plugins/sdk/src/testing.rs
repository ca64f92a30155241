//! Test a stage the way the runner drives it: settings from JSON (defaults
//! applied), whole batches, panics caught per record, state saved and
//! restored or merged. No library loading is involved, so these are plain
//! unit tests.
//!
//! ```ignore
//! let mut stage = TestStage::transform::<MyTransform>(json!({"window": 3}))?;
//! let out = stage.process(&[TestRecord::json(json!({"x": 1}))]);
//! assert_eq!(out.json(), vec![json!({"x": 1, "seen": 1})]);
//! ```

use crate::abi::{Decoded, FfiField, FfiOutput, InputBuffer, RecordView};
use crate::fields::{Scalar, index_flat_json_object};
use crate::glue::{ErasedStage, StageEntry, build_entry, chart, render_entry, source, transform};
use crate::stage::{Chart, ImageFormat, Poll, Source, StageError, Transform};

/// An input record for a test.
#[derive(Debug, Clone, Default)]
pub struct TestRecord {
    pub payload: Vec<u8>,
    pub key: Option<Vec<u8>>,
    pub timestamp_ms: Option<i64>,
}

impl TestRecord {
    pub fn bytes(payload: impl Into<Vec<u8>>) -> Self {
        TestRecord { payload: payload.into(), ..Default::default() }
    }

    pub fn json(value: serde_json::Value) -> Self {
        Self::bytes(value.to_string())
    }
}

/// A record the stage refused.
#[derive(Debug, Clone, PartialEq)]
pub struct TestReject {
    /// Index of the input record, if the reject came from one.
    pub input_index: Option<usize>,
    /// Raw bytes, for rejects that did not come from an input record.
    pub payload: Option<Vec<u8>>,
    pub reason: String,
    pub panicked: bool,
}

/// What one call produced.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub records: Vec<TestRecord>,
    pub rejects: Vec<TestReject>,
    /// For each record, the members the stage handed on with it (see
    /// [`crate::Output::emit_with_field`]), if it did.
    pub members: Vec<Option<Vec<(String, Scalar<'static>)>>>,
}

impl Outcome {
    /// The emitted payloads parsed as JSON (panics on non-JSON output).
    pub fn json(&self) -> Vec<serde_json::Value> {
        self.records.iter().map(|r| serde_json::from_slice(&r.payload).expect("output record is not JSON")).collect()
    }
}

/// A stage under test.
pub struct TestStage {
    entry: StageEntry,
    stage: Box<dyn ErasedStage>,
}

impl TestStage {
    pub fn source<S: Source>(settings: serde_json::Value) -> Result<Self, StageError> {
        Self::build(source::<S>(), settings)
    }

    pub fn transform<T: Transform>(settings: serde_json::Value) -> Result<Self, StageError> {
        Self::build(transform::<T>(), settings)
    }

    pub fn chart<C: Chart>(settings: serde_json::Value) -> Result<Self, StageError> {
        Self::build(chart::<C>(), settings)
    }

    fn build(entry: StageEntry, settings: serde_json::Value) -> Result<Self, StageError> {
        let stage = build_entry(&entry, &settings)?;
        Ok(TestStage { entry, stage })
    }

    /// The settings schema the runner would see.
    pub fn settings_schema(&self) -> serde_json::Value {
        (self.entry.schema)()
    }

    /// Poll a source once.
    pub fn poll(&mut self, max: usize) -> Result<(Outcome, Poll), String> {
        let output = self.stage.poll(max)?;
        // SAFETY: the output is valid until the next call on the stage.
        let decoded = unsafe { output.decode() };
        Ok((outcome(&decoded), decoded.poll))
    }

    /// Poll a source until it is done (ignoring waits), collecting everything.
    pub fn drain(&mut self, max: usize) -> Result<Outcome, String> {
        let mut all = Outcome::default();
        loop {
            let (outcome, poll) = self.poll(max)?;
            all.records.extend(outcome.records);
            all.rejects.extend(outcome.rejects);
            if poll == Poll::Done {
                return Ok(all);
            }
        }
    }

    /// Run one batch through a transform or chart. As the runner's record
    /// check does, the members of each flat JSON object are found first
    /// and handed to the stage with it.
    pub fn process(&mut self, input: &[TestRecord]) -> Result<Outcome, String> {
        let mut buffer = InputBuffer::default();
        let members: Vec<Option<Vec<FfiField>>> = input
            .iter()
            .map(|r| {
                let mut fields = Vec::new();
                index_flat_json_object(&r.payload, &mut fields).then_some(fields)
            })
            .collect();
        let views = input.iter().zip(&members).map(|(r, fields)| RecordView {
            payload: &r.payload,
            key: r.key.as_deref(),
            timestamp_ms: r.timestamp_ms,
            fields: fields.as_deref(),
        });
        let output = self.stage.process(buffer.lay_out(views).as_ffi())?;
        // SAFETY: the output is valid until the next call on the stage.
        Ok(unsafe { decoded_outcome(&output) })
    }

    /// Tell a transform its input has ended.
    pub fn flush(&mut self) -> Result<Outcome, String> {
        let output = self.stage.flush()?;
        // SAFETY: the output is valid until the next call on the stage.
        Ok(unsafe { decoded_outcome(&output) })
    }

    /// A chart's current frame as JSON.
    pub fn frame(&self) -> Result<serde_json::Value, String> {
        let bytes = self.stage.frame()?;
        serde_json::from_slice(&bytes).map_err(|e| e.to_string())
    }

    /// Draw the chart's current frame.
    pub fn render(&self, format: ImageFormat) -> Result<Vec<u8>, String> {
        let frame = self.stage.frame()?;
        render_entry(&self.entry, &frame, format)
    }

    pub fn save_state(&self) -> Option<serde_json::Value> {
        self.stage.save_state()
    }

    pub fn restore_state(&mut self, state: serde_json::Value) -> Result<(), String> {
        self.stage.restore_state(state)
    }

    /// Fold another instance's saved state into this one (see
    /// `Transform::merge_state`), as the runner does when it combines
    /// per-partition stages: `a.merge_state(b.save_state().unwrap())`.
    pub fn merge_state(&mut self, state: serde_json::Value) -> Result<(), String> {
        self.stage.merge_state(state)
    }
}

/// # Safety
/// `output` must come from the last call on a live stage.
unsafe fn decoded_outcome(output: &FfiOutput) -> Outcome {
    // SAFETY: guaranteed by the caller; the views are copied out at once.
    outcome(&unsafe { output.decode() })
}

/// The decoded output, copied out of the stage's buffers.
fn outcome(decoded: &Decoded<'_>) -> Outcome {
    Outcome {
        records: decoded
            .records
            .iter()
            .map(|r| TestRecord {
                payload: r.payload.to_vec(),
                key: r.key.map(<[u8]>::to_vec),
                timestamp_ms: r.timestamp_ms,
            })
            .collect(),
        members: decoded.records.iter().map(|r| r.fields.map(|f| crate::fields::members(r.payload, f))).collect(),
        rejects: decoded
            .rejects
            .iter()
            .map(|r| TestReject {
                input_index: r.input_index,
                payload: r.payload.map(<[u8]>::to_vec),
                reason: String::from_utf8_lossy(r.reason).into_owned(),
                panicked: r.panicked,
            })
            .collect(),
    }
}
