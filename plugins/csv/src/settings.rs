use std::collections::BTreeMap;

use buzz_sdk::JsonSchema;
use serde::Deserialize;

/// How a column's text becomes a JSON value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    /// A number if it parses as one, else a string.
    Auto,
    /// Always a string.
    String,
    /// Must be a number: a row where it is not goes to the dead letters.
    Number,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CsvReplaySettings {
    /// The CSV file to replay; its first row names the columns.
    #[schemars(extend("x-buzz-state" = true))]
    pub path: String,
    /// Milliseconds between records; 0 sends them as fast as the pipeline takes them.
    #[serde(default = "default_interval_ms")]
    #[schemars(range(min = 0))]
    pub interval_ms: u64,
    /// Field separator (one ASCII character).
    #[serde(default = "default_delimiter")]
    pub delimiter: String,
    /// Columns the file must have; a file without one is refused at start.
    #[serde(default)]
    pub required: Vec<String>,
    /// Type of named columns; unnamed columns are `auto`.
    #[serde(default)]
    pub types: BTreeMap<String, ColumnType>,
    /// How many times to play the file; 0 repeats it for ever.
    #[serde(default = "default_loops")]
    pub loops: u64,
}

fn default_interval_ms() -> u64 {
    1000
}

fn default_delimiter() -> String {
    ",".into()
}

fn default_loops() -> u64 {
    1
}
