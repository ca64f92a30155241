//! The saved forms of a partition's task and of a source, with a format
//! version so an older buzz refuses a newer checkpoint instead of misreading it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

/// Bumped when the shape or meaning of a checkpoint changes.
pub const FORMAT_VERSION: u32 = 1;

/// A stage's state as its plugin saved it, kept as the JSON text it came
/// in: a checkpoint neither parses it into a tree nor encodes it again.
/// (A 2,000-point line chart's 200–300 KB state cost the consumer's
/// thread 2–3 ms each way, once a second, in the records' path.)
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SavedState(Box<RawValue>);

impl SavedState {
    /// Checks that `json` is one JSON value and keeps it as it is.
    pub fn from_json(json: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(json).map(SavedState).map_err(|e| format!("saved state is not JSON: {e}"))
    }

    pub fn json(&self) -> &[u8] {
        self.0.get().as_bytes()
    }
}

impl From<&Value> for SavedState {
    fn from(value: &Value) -> Self {
        SavedState(serde_json::value::to_raw_value(value).expect("JSON values always encode"))
    }
}

/// The same text: states are compared only to check a round trip.
impl PartialEq for SavedState {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

/// A stage's saved state, with the type that saved it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageState {
    #[serde(rename = "type")]
    pub type_name: String,
    /// What `save_state` returned (`None`: the stage keeps no state).
    #[serde(default)]
    pub state: Option<SavedState>,
    /// The settings that define what the state means (`count_by`'s
    /// `field`), when it was saved: a stage configured otherwise since
    /// starts empty rather than misread it. Absent in older checkpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meaning: Option<Value>,
}

impl StageState {
    /// Whether this state was saved by a stage of `type_name` under the
    /// state-defining settings `meaning` (one saved before meanings were
    /// recorded is taken as such).
    pub fn describes(&self, type_name: &str, meaning: &Option<Value>) -> bool {
        self.type_name == type_name && (self.meaning.is_none() || self.meaning == *meaning)
    }
}

/// A named branch's saved transform and chart state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BranchState {
    /// The first (most often the only) transform's.
    #[serde(default)]
    pub transform: Option<StageState>,
    /// The transforms after the first, in chain order (see [`TaskCheckpoint::chain`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<StageState>,
    #[serde(default)]
    pub chart: Option<StageState>,
}

/// One branch's saved states as restoring reads them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SavedBranch<'a> {
    /// One per transform of the chain, in order; empty when nothing was
    /// saved (a new branch, or after `buzz reset`).
    pub transforms: Vec<&'a StageState>,
    pub chart: Option<&'a StageState>,
}

impl<'a> SavedBranch<'a> {
    fn of(transform: Option<&'a StageState>, chain: &'a [StageState], chart: Option<&'a StageState>) -> Self {
        let transforms = transform.map(|first| std::iter::once(first).chain(chain).collect()).unwrap_or_default();
        SavedBranch { transforms, chart }
    }
}

/// One input partition's transform and chart state, and where reading
/// resumes for that state to be exact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskCheckpoint {
    pub format: u32,
    /// The input partition (0 for a file).
    pub partition: i32,
    /// The byte offset (file) or offset (Kafka) just after the last record
    /// this state has taken.
    pub next: i64,
    /// `None` after `buzz reset`: start empty at `next`.
    #[serde(default)]
    pub transform: Option<StageState>,
    /// The transforms after the first of a chain, in order. A chain's
    /// states are keyed by place: a stage's state means something only
    /// with the stages before it unchanged, so a stage that moves, or
    /// whose predecessors change, starts afresh anyway (see
    /// `pipeline::tasks`); an `id` that followed it would add nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<StageState>,
    #[serde(default)]
    pub chart: Option<StageState>,
    /// Each named branch's states (a pipeline with `[branches.NAME]`); a
    /// pipeline of one `[transform]` and `[chart]` uses the two fields above.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub branches: BTreeMap<String, BranchState>,
    /// What the transport needs to tell that `next` is still a position in
    /// the same input (a file's device, inode and bytes before `next`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    /// Milliseconds since the Unix epoch.
    pub saved_at_ms: i64,
}

impl TaskCheckpoint {
    /// An empty state at `next`: what `buzz reset` leaves.
    pub fn empty(partition: i32, next: i64) -> Self {
        TaskCheckpoint {
            format: FORMAT_VERSION,
            partition,
            next,
            transform: None,
            chain: Vec::new(),
            chart: None,
            branches: BTreeMap::new(),
            input: None,
            saved_at_ms: now_ms(),
        }
    }

    /// A branch's transforms' and chart's state: under its name for a
    /// named branch, else in the unnamed fields (the keys of single-chart files).
    pub fn branch(&self, name: &str, named: bool) -> SavedBranch<'_> {
        match (named, self.branches.get(name)) {
            (false, _) => SavedBranch::of(self.transform.as_ref(), &self.chain, self.chart.as_ref()),
            (true, Some(b)) => SavedBranch::of(b.transform.as_ref(), &b.chain, b.chart.as_ref()),
            (true, None) => SavedBranch::default(),
        }
    }

    /// Decodes a saved checkpoint, refusing one from a newer buzz.
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let checkpoint: TaskCheckpoint =
            serde_json::from_slice(bytes).map_err(|e| format!("not a buzz checkpoint: {e}"))?;
        check_format(checkpoint.format)?;
        Ok(checkpoint)
    }
}

/// A source's saved position, with the transport's own mark of how far it
/// had written when the position was saved (a file's length, a topic's
/// partition ends): a restarted producer skips what was written after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceCheckpoint {
    pub format: u32,
    pub source: StageState,
    pub transport: Value,
    pub saved_at_ms: i64,
}

impl SourceCheckpoint {
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let checkpoint: SourceCheckpoint =
            serde_json::from_slice(bytes).map_err(|e| format!("not a buzz source checkpoint: {e}"))?;
        check_format(checkpoint.format)?;
        Ok(checkpoint)
    }
}

fn check_format(format: u32) -> Result<(), String> {
    if format > FORMAT_VERSION {
        return Err(format!(
            "written by a newer buzz (checkpoint format {format}, this one reads up to {FORMAT_VERSION}); \
             upgrade buzz, or start over with `buzz reset`"
        ));
    }
    Ok(())
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_chart_keeps_its_keys_and_named_branches_go_under_their_names() {
        let state = |t: &str| {
            Some(StageState { type_name: t.into(), state: Some((&serde_json::json!(1)).into()), meaning: None })
        };
        let single =
            TaskCheckpoint { transform: state("count_by"), chart: state("bar_chart"), ..TaskCheckpoint::empty(0, 5) };
        let saved = serde_json::to_value(&single).unwrap();
        assert!(saved.get("branches").is_none() && saved["transform"]["type"] == "count_by", "{saved}");
        assert_eq!(single.branch("pipeline", false).transforms[0].type_name, "count_by");

        let mut named = TaskCheckpoint::empty(0, 5);
        let mood = BranchState { transform: state("average_by"), chart: state("bar_chart"), ..Default::default() };
        named.branches.insert("mood".into(), mood);
        assert_eq!(named.branch("mood", true).transforms[0].type_name, "average_by");
        assert_eq!(
            named.branch("authors", true),
            SavedBranch::default(),
            "a branch the checkpoint never saw starts empty"
        );
        let decoded = TaskCheckpoint::decode(&serde_json::to_vec(&named).unwrap()).unwrap();
        assert_eq!(decoded, named);
    }

    #[test]
    fn a_checkpoint_from_a_newer_format_is_refused_by_name() {
        let mut checkpoint = TaskCheckpoint::empty(0, 10);
        checkpoint.format = FORMAT_VERSION + 1;
        let bytes = serde_json::to_vec(&checkpoint).unwrap();
        let error = TaskCheckpoint::decode(&bytes).unwrap_err();
        assert!(error.contains("newer buzz") && error.contains("buzz reset"), "{error}");
        checkpoint.format = FORMAT_VERSION;
        assert_eq!(TaskCheckpoint::decode(&serde_json::to_vec(&checkpoint).unwrap()).unwrap(), checkpoint);
    }
}
