//! Pipeline files: parsing with positions, `${VAR}` interpolation, `--set`
//! overrides, and checking every stage's settings against its schema.

pub(crate) mod declared;
pub mod diagnostics;
pub mod document;
pub(crate) mod field_check;
pub mod interpolate;
pub(crate) mod kafka_properties;
pub(crate) mod overrides;
pub(crate) mod pipeline_schema;
pub(crate) mod runner_settings;
pub(crate) mod schema_check;
pub(crate) mod secrets;
pub(crate) mod suggest;

mod listen;
mod load;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use diagnostics::{Diagnostic, Diagnostics, Origin, SourceFile};
pub use listen::{DEFAULT_PORT, Listen, parse_listen, resolve_listen};
pub use load::{FindPlugins, in_branch, load};
pub use overrides::Override;
pub use runner_settings::{FileTransportSettings, FsyncPolicy, KafkaTransportSettings, StartAt};

use crate::plugin_host::PluginLibrary;

/// A plugin stage as the pipeline file configures it.
#[derive(Debug, Clone)]
pub struct StageSpec {
    /// `source`, `transform` or `chart`.
    pub section: &'static str,
    /// Its place in a chain of several transforms (`transform[1]`); `None`
    /// for a stage alone in its section.
    pub place: Option<usize>,
    pub type_name: String,
    pub plugin: Arc<PluginLibrary>,
    /// The settings, checked against the stage's schema (without `type`).
    pub settings: serde_json::Value,
    /// Where each setting was written, for errors the plugin reports.
    pub origins: BTreeMap<String, Origin>,
    pub table_origin: Origin,
}

impl StageSpec {
    /// A diagnostic about `setting` (or the whole stage).
    pub fn error(&self, file: &SourceFile, setting: Option<&str>, message: impl std::fmt::Display) -> Diagnostic {
        let origin = setting.and_then(|s| self.origins.get(s)).unwrap_or(&self.table_origin);
        let what = match setting {
            Some(s) => format!("{}.{s}", self.label()),
            None => format!("{} {}", self.label(), self.type_name),
        };
        file.error(origin, format!("{what}: {message}"))
    }

    /// How errors, logs and dead letters name the stage: `transform`, or
    /// `transform[1]` in a chain.
    pub fn label(&self) -> String {
        stage_label(self.section, self.place)
    }

    /// Same plugin library, type and settings: nothing to rebuild.
    pub fn same_as(&self, other: &StageSpec) -> bool {
        Arc::ptr_eq(&self.plugin, &other.plugin) && self.type_name == other.type_name && self.settings == other.settings
    }
}

/// `section`, or `section[place]` for a stage of a chain.
pub fn stage_label(section: &str, place: Option<usize>) -> String {
    match place {
        Some(place) => format!("{section}[{place}]"),
        None => section.to_string(),
    }
}

/// The transport and its settings.
#[derive(Debug, Clone, PartialEq)]
pub enum TransportSpec {
    File(FileTransport),
    Kafka(KafkaTransport),
    Memory(MemoryTransport),
}

/// An in-process queue between the two halves of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryTransport {
    pub name: String,
    pub capacity: usize,
}

/// Where the Kafka transport finds its brokers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Brokers {
    /// The in-process cluster (librdkafka's mock), shared by every pipeline
    /// of this process.
    Embedded,
    /// `host:port,...` of a real cluster.
    Servers(String),
}

/// A Kafka transport with its defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct KafkaTransport {
    pub pipeline: String,
    pub brokers: Brokers,
    pub topic: String,
    pub group: String,
    pub partitions: i32,
    pub replication: i32,
    pub start: StartAt,
    /// The JSON field whose value is each record's key.
    pub key: Option<String>,
    pub idempotence: bool,
    pub create_topic: bool,
    pub session_timeout_ms: u64,
    pub properties: std::collections::BTreeMap<String, String>,
}

/// A file transport with its defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct FileTransport {
    pub path: PathBuf,
    pub start: StartAt,
    pub group: String,
    pub poll: Duration,
    pub fsync: Fsync,
}

/// When a file transport's producer forces its lines to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    Always,
    Interval(Duration),
    Never,
}

impl TransportSpec {
    pub fn describe(&self) -> String {
        match self {
            TransportSpec::File(f) => format!("file {}", f.path.display()),
            TransportSpec::Kafka(k) => match &k.brokers {
                Brokers::Embedded => format!("kafka topic {} (embedded broker)", k.topic),
                Brokers::Servers(servers) => format!("kafka topic {} at {servers}", k.topic),
            },
            TransportSpec::Memory(m) => format!("memory queue {}", m.name),
        }
    }
}

/// Where and how often the chart is written.
#[derive(Debug, Clone)]
pub struct ChartOutput {
    /// `<base>.svg`, `<base>.png`, `<base>.json`.
    pub base: PathBuf,
    pub min_frame_interval: Duration,
    pub png_interval: Duration,
    /// Where `output` is written in the file (for errors about the folder).
    pub origin: Origin,
}

impl PartialEq for ChartOutput {
    /// The same output, wherever the setting moved to in the file.
    fn eq(&self, other: &Self) -> bool {
        (&self.base, self.min_frame_interval, self.png_interval)
            == (&other.base, other.min_frame_interval, other.png_interval)
    }
}

impl ChartOutput {
    /// Makes the output folder and proves it takes files, or says why not.
    pub fn check_writable(&self) -> Result<(), String> {
        let dir = folder_of(&self.base);
        probe_folder(dir).map_err(|e| {
            format!(
                "cannot write charts to folder {}: {e}; choose another `output`, or make the folder writable",
                dir.display()
            )
        })
    }
}

/// The folder a file at `path` goes in (`.` for a bare name).
fn folder_of(path: &std::path::Path) -> &std::path::Path {
    path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."))
}

/// Makes `dir` and proves it takes new files (a probe file, removed at once).
fn probe_folder(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    tempfile::Builder::new().prefix(".buzz-probe-").tempfile_in(dir).map(drop)
}

/// A checked pipeline, ready to build.
#[derive(Debug, Clone)]
pub struct PipelineSpec {
    pub file: SourceFile,
    pub name: String,
    pub source: StageSpec,
    pub transport: TransportSpec,
    /// What every record fans out to after the record check: one branch
    /// named after the pipeline for a file with `[transform]` and
    /// `[chart]`, else one per `[branches.NAME]`, in file order.
    pub branches: Vec<BranchSpec>,
    /// The file uses `[branches.NAME]`: checkpoints key each branch's state
    /// by its name (a `[transform]`+`[chart]` file keeps its old keys).
    pub named_branches: bool,
    pub dead_letter: DeadLetterTarget,
    /// Where the dead letters' `path` is written in the file.
    pub dead_letter_origin: Origin,
    /// Where the transport's `properties` are written (else its table).
    pub transport_properties_origin: Origin,
    /// `[dashboard] listen`, if the file sets it.
    pub dashboard_listen: Option<String>,
    /// `[dashboard] allowed_hosts`.
    pub dashboard_allowed_hosts: Vec<String>,
    /// What every record must be before the transform sees it.
    pub record_check: RecordCheck,
    /// How often state is checkpointed (`[state] checkpoint_ms`).
    pub checkpoint_every: Duration,
}

/// One branch: a chain of transforms (most often one), each feeding the
/// next, the last feeding the chart, with its own output.
#[derive(Debug, Clone)]
pub struct BranchSpec {
    /// Names it on the dashboard, in logs, dead letters and checkpoints.
    pub name: String,
    /// At least one; `[transform]` is a chain of one.
    pub transforms: Vec<StageSpec>,
    pub chart: StageSpec,
    pub chart_output: ChartOutput,
}

/// Where dead letters go.
#[derive(Debug, Clone, PartialEq)]
pub enum DeadLetterTarget {
    File(PathBuf),
    Kafka(KafkaTransport),
}

impl DeadLetterTarget {
    pub fn describe(&self) -> String {
        match self {
            DeadLetterTarget::File(path) => path.display().to_string(),
            DeadLetterTarget::Kafka(k) => format!("kafka topic {}", k.topic),
        }
    }

    /// Proves a dead-letter file can be appended to (making its folder),
    /// or says why not, without creating the file: a run must not find out
    /// on its first bad record. A topic is checked by the broker.
    pub fn check_writable(&self) -> Result<(), String> {
        let DeadLetterTarget::File(path) = self else { return Ok(()) };
        let problem = |e: &dyn std::fmt::Display| {
            format!("cannot write dead letters to {}: {e}; choose another `path`, or make it writable", path.display())
        };
        if path.is_dir() {
            return Err(problem(&"it is a folder"));
        }
        if path.exists() {
            return std::fs::OpenOptions::new().append(true).open(path).map(drop).map_err(|e| problem(&e));
        }
        probe_folder(folder_of(path)).map_err(|e| problem(&e))
    }
}

/// The checks each record passes at the transport boundary.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordCheck {
    /// Must be a UTF-8 JSON document.
    pub json: bool,
    pub schema: Option<RecordSchema>,
    pub max_bytes: u64,
}

/// A JSON Schema the records must follow, read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordSchema {
    pub path: PathBuf,
    pub schema: serde_json::Value,
}

impl RecordSchema {
    /// Reads and compiles the schema, or says what is wrong with it.
    pub fn read(path: &std::path::Path) -> Result<RecordSchema, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the schema file {}: {e}", path.display()))?;
        let schema: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
        jsonschema::validator_for(&schema)
            .map_err(|e| format!("{} is not a valid JSON Schema: {e}", path.display()))?;
        Ok(RecordSchema { path: path.to_path_buf(), schema })
    }
}

impl PipelineSpec {
    /// "csv_replay -> file out/smoker.jsonl -> stall_detection -> line_chart"
    /// (several branches: "... -> {averages: average_by -> bar_chart, ...}")
    pub fn outline(&self) -> String {
        let branch = |b: &BranchSpec| {
            let chain = b.transforms.iter().map(|t| t.type_name.as_str()).collect::<Vec<_>>().join(" -> ");
            format!("{chain} -> {}", b.chart.type_name)
        };
        let branches = match self.branches.as_slice() {
            [only] if !self.named_branches => branch(only),
            all => {
                let named: Vec<String> = all.iter().map(|b| format!("{}: {}", b.name, branch(b))).collect();
                format!("{{{}}}", named.join(", "))
            }
        };
        format!("{} -> {} -> {branches}", self.source.type_name, self.transport.describe())
    }

    /// Every plugin stage of the pipeline: the source, then each branch's
    /// transforms and chart.
    pub fn stages(&self) -> impl Iterator<Item = &StageSpec> {
        std::iter::once(&self.source).chain(self.branches.iter().flat_map(BranchSpec::stages))
    }
}

impl BranchSpec {
    /// The branch's transforms in chain order, then its chart.
    pub fn stages(&self) -> impl Iterator<Item = &StageSpec> {
        self.transforms.iter().chain(std::iter::once(&self.chart))
    }
}
