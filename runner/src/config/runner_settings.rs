//! Settings the runner itself owns: transports, chart output, dead letters.
//! They are described with JSON Schemas too, so they are checked, reported
//! and documented exactly like plugin settings.

use schemars::JsonSchema;
use serde::Deserialize;

/// Where a consumer with no saved position starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum StartAt {
    /// Everything already in the file or topic (nothing is missed).
    #[default]
    Beginning,
    /// Only what arrives from now on (the originals' behaviour).
    End,
}

/// `[transport] type = "file"`: JSON lines appended to a file and tailed back.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileTransportSettings {
    /// The JSON-lines file the producer appends to and the consumer tails
    /// (default `out/<pipeline name>.jsonl`).
    #[serde(default)]
    pub path: Option<String>,
    /// Where a consumer with no saved position starts.
    #[serde(default)]
    pub start: StartAt,
    /// Name of the consumer's checkpoint (its chart state and position, kept
    /// beside the file as `<path>.<group>.checkpoint`), so a restarted
    /// consumer continues its chart where it stopped.
    #[serde(default = "default_group")]
    pub group: String,
    /// How often, in milliseconds, an idle consumer looks for new lines.
    #[serde(default = "default_poll_ms")]
    #[schemars(range(min = 1, max = 10000))]
    pub poll_ms: u64,
    /// When the producer's lines are forced to disk (fsync): `always` after
    /// every batch, `interval` at most `fsync_interval_ms` after they are
    /// written, `never` only before a checkpoint counts them. A kill loses
    /// nothing either way (the lines are in the kernel); this is about power
    /// loss and kernel crashes.
    #[serde(default)]
    pub fsync: FsyncPolicy,
    /// With `fsync = "interval"`, the longest written lines wait for an fsync.
    #[serde(default = "default_fsync_interval_ms")]
    #[schemars(range(min = 1, max = 3600000))]
    pub fsync_interval_ms: u64,
}

/// When a file transport's data is forced to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum FsyncPolicy {
    /// After every batch the producer writes.
    Always,
    /// At most `fsync_interval_ms` after a write, and at every checkpoint.
    #[default]
    Interval,
    /// Only before a source checkpoint counts the lines.
    Never,
}

fn default_fsync_interval_ms() -> u64 {
    1000
}

fn default_group() -> String {
    "default".into()
}

fn default_poll_ms() -> u64 {
    20
}

/// `[transport] type = "kafka"`: a Kafka topic (real cluster or embedded).
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaTransportSettings {
    /// Bootstrap servers (`host:port,...`), or "embedded" for an in-process
    /// cluster (librdkafka's mock). Default: `KAFKA_BROKERS` if set, else embedded.
    #[serde(default)]
    pub brokers: Option<String>,
    /// The topic records travel through; created if missing, never deleted.
    pub topic: String,
    /// Consumer group: consumers with the same group share the topic's
    /// partitions (default `<pipeline name>_group`).
    #[serde(default)]
    pub group: Option<String>,
    /// Partitions of the topic when buzz creates it. Ordered data (the
    /// smoker's readings) needs 1; more let a consumer group scale out.
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 10000))]
    pub partitions: i32,
    /// Replication factor of the topic when buzz creates it.
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 100))]
    pub replication: i32,
    /// Where a consumer group with no checkpoint starts.
    #[serde(default)]
    pub start: StartAt,
    /// The JSON field whose value is each record's key (a string as is,
    /// a number as its JSON text): records with one key go to one partition,
    /// in order, where Kafka's Java client would put them. A record without
    /// the field (or not JSON) is sent unkeyed. Default: the key the source
    /// gave, if any.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub key: Option<String>,
    /// Idempotent producer (no duplicates from producer retries).
    #[serde(default = "yes")]
    pub idempotence: bool,
    /// Create the topic if it is missing (an existing topic is never
    /// changed); false requires it to exist, and says so until it does.
    #[serde(default = "yes")]
    pub create_topic: bool,
    /// Consumer group session timeout in milliseconds.
    #[serde(default = "default_session_timeout_ms")]
    #[schemars(range(min = 1000, max = 300000))]
    pub session_timeout_ms: u64,
    /// Extra librdkafka settings for every client of the topic (producer,
    /// consumer, admin, and the dead letters on these brokers), e.g.
    /// `{ "batch.num.messages" = "1000" }` or TLS and SASL:
    /// `{ "security.protocol" = "SASL_SSL", "sasl.mechanism" = "SCRAM-SHA-512",
    /// "sasl.username" = "buzz", "sasl.password" = "${KAFKA_PASSWORD}" }`.
    /// Checked by librdkafka when the file is loaded.
    #[serde(default)]
    pub properties: std::collections::BTreeMap<String, String>,
}

fn one() -> i32 {
    1
}

fn yes() -> bool {
    true
}

fn default_session_timeout_ms() -> u64 {
    6000
}

/// Settings of `[transport]` (any type) that check each record as it
/// arrives, before the transform: a record that fails goes to the dead
/// letters with the reason.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordCheckSettings {
    /// "json": every record must be a UTF-8 JSON document; "bytes": anything goes.
    #[serde(default)]
    pub format: RecordFormat,
    /// A JSON Schema file the records must follow (implies "json").
    #[serde(default)]
    pub schema: Option<String>,
    /// Records larger than this many bytes are refused: by the producer
    /// before they are sent, and by the consumer as they arrive. The
    /// default leaves room for a key and Kafka's framing within librdkafka's
    /// default `message.max.bytes` (1,000,000).
    #[serde(default = "default_max_record_bytes")]
    #[schemars(range(min = 1))]
    pub max_record_bytes: u64,
}

/// Keys of `[transport]` that belong to the record check, whatever the type.
pub const RECORD_CHECK_KEYS: [&str; 3] = ["format", "schema", "max_record_bytes"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum RecordFormat {
    #[default]
    Json,
    Bytes,
}

fn default_max_record_bytes() -> u64 {
    999_000
}

/// `[transport] type = "memory"`: a bounded queue inside one process.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemoryTransportSettings {
    /// Name of the queue (default: the pipeline's name).
    #[serde(default)]
    pub name: Option<String>,
    /// Most records queued; a faster source then waits for the consumer.
    #[serde(default = "default_capacity")]
    #[schemars(range(min = 1))]
    pub capacity: usize,
}

fn default_capacity() -> usize {
    65536
}

/// The runner's own settings in `[chart]` (the rest belong to the chart plugin).
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChartOutputSettings {
    /// Base path of the chart files: `<output>.svg`, `<output>.png` and
    /// `<output>.json` (default `out/<pipeline name>`).
    #[serde(default)]
    pub output: Option<String>,
    /// Most frames drawn per second while records keep the consumer busy.
    /// When it is caught up and frames are cheap, a change is drawn at once.
    #[serde(default = "default_fps")]
    #[schemars(range(min = 0.1, max = 60.0))]
    pub fps: f64,
    /// Least milliseconds between two PNG files (PNG costs more to draw than
    /// SVG); drawn on its own thread from the newest frame, never more than
    /// this behind the SVG.
    #[serde(default = "default_png_interval_ms")]
    pub png_interval_ms: u64,
}

/// Keys of `[chart]` that belong to the runner.
pub const CHART_OUTPUT_KEYS: [&str; 3] = ["output", "fps", "png_interval_ms"];

fn default_fps() -> f64 {
    20.0
}

fn default_png_interval_ms() -> u64 {
    1000
}

/// `[dead_letter]`: where records that could not be processed go.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeadLetterSettings {
    /// JSON-lines file of dead letters (default `out/<pipeline name>.dead.jsonl`).
    #[serde(default)]
    pub path: Option<String>,
    /// A Kafka topic for dead letters instead of a file (each one a JSON message).
    #[serde(default)]
    pub topic: Option<String>,
    /// Brokers of that topic (default: the pipeline's Kafka brokers, else
    /// `KAFKA_BROKERS`, else the embedded broker).
    #[serde(default)]
    pub brokers: Option<String>,
    /// Partitions of the dead-letter topic when buzz creates it.
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 10000))]
    pub partitions: i32,
    /// Replication factor of the dead-letter topic when buzz creates it.
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 100))]
    pub replication: i32,
    /// librdkafka settings for the dead-letter client. On the transport's
    /// brokers it already uses the transport's `properties` (TLS, SASL);
    /// these are added to them, or replace them key by key.
    #[serde(default)]
    pub properties: std::collections::BTreeMap<String, String>,
}

/// `[state]`: how the pipeline's state survives restarts.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StateSettings {
    /// Milliseconds between checkpoints: each partition's transform and
    /// chart state saved with the position it stands for, and the source's
    /// position (also saved at every clean stop and partition hand-over).
    /// A consumer killed and restarted resumes from the last one exactly.
    #[serde(default = "default_checkpoint_ms")]
    #[schemars(range(min = 10, max = 600000))]
    pub checkpoint_ms: u64,
}

fn default_checkpoint_ms() -> u64 {
    1000
}

/// `[dashboard]`: where `buzz run` serves its live charts.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DashboardSettings {
    /// Address to serve the dashboard on, e.g. "127.0.0.1:8080" (port 0
    /// picks a free one), or "off". Loopback unless you name another
    /// address. `buzz run --http` overrides it.
    #[serde(default)]
    pub listen: Option<String>,
    /// Host names the dashboard answers to besides localhost, loopback
    /// addresses and the listen address (any address when listening on
    /// 0.0.0.0 or ::), e.g. ["myhost.lan"] to open it as
    /// http://myhost.lan:8080/. Requests naming any other host are refused
    /// (a DNS-rebinding page could otherwise read the dashboard); "*"
    /// allows every name.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
}

/// The JSON Schema of a runner settings struct.
pub fn schema_of<T: JsonSchema>() -> serde_json::Value {
    schemars::schema_for!(T).to_value()
}
