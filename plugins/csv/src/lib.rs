//! The `csv_replay` source: each row of a CSV file becomes one JSON object,
//! keyed by the header row, sent at a steady interval (or as fast as the
//! pipeline takes them). Used by the smart-smoker pipeline.

mod replay;
mod row_json;
mod settings;

pub use replay::CsvReplay;

buzz_sdk::export_plugin! {
    name: "csv",
    stages: [buzz_sdk::source::<CsvReplay>()],
}
