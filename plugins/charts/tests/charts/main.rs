//! The chart stages driven through the SDK's test harness, the same glue
//! the runner uses.

mod bar;
mod colormaps;
mod line;
mod png;
mod robustness;
mod settings;

use buzz_plugin_charts::{BarChart, LineChart};
use buzz_sdk::testing::{TestRecord, TestStage};
use buzz_sdk::{ImageFormat, StageError};
use serde_json::Value;

pub fn bar_chart(settings: Value) -> Result<TestStage, StageError> {
    TestStage::chart::<BarChart>(settings)
}

pub fn line_chart(settings: Value) -> Result<TestStage, StageError> {
    TestStage::chart::<LineChart>(settings)
}

pub fn records(values: impl IntoIterator<Item = Value>) -> Vec<TestRecord> {
    values.into_iter().map(TestRecord::json).collect()
}

/// Ingests records, failing the test if any is rejected.
pub fn feed(stage: &mut TestStage, values: impl IntoIterator<Item = Value>) {
    let outcome = stage.process(&records(values)).unwrap();
    assert!(outcome.rejects.is_empty(), "rejected: {:?}", outcome.rejects);
}

pub fn svg(stage: &TestStage) -> String {
    String::from_utf8(stage.render(ImageFormat::Svg).unwrap()).unwrap()
}

/// Writes an image under target/ for a person to look at (handy when
/// changing the drawing code); ignores failures.
pub fn keep(name: &str, bytes: &[u8]) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("charts");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(name), bytes);
}

/// The text of every `<text>` element of an SVG, XML escapes left as they are.
pub fn svg_texts(svg: &str) -> Vec<&str> {
    svg.split("<text")
        .skip(1)
        .filter_map(|rest| {
            let body = &rest[rest.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim())
        })
        .collect()
}
