//! What a frame costs: the runner asks for a frame and renders it at the
//! frame rate, so both must stay in the low milliseconds however long the
//! chart has run. `TestStage::render` is the runner's path: frame, encode
//! to JSON, decode, draw.

use std::hint::black_box;
use std::time::Duration;

use buzz_plugin_charts::{BarChart, LineChart};
use buzz_sdk::ImageFormat;
use buzz_sdk::testing::{TestRecord, TestStage};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

const LINE_POINTS: usize = 100_000;

fn line_records(range: std::ops::Range<usize>) -> Vec<TestRecord> {
    let start = 1_700_000_000_000i64; // epoch milliseconds
    range
        .map(|i| {
            let temp = 225.0 + 20.0 * (i as f64 / 900.0).sin() + (i % 7) as f64 * 0.3;
            TestRecord::json(json!({
                "timestamp": start + i as i64 * 1000,
                "temp": temp,
                "stall": (i / 5000) % 4 == 1,
            }))
        })
        .collect()
}

fn line_stage() -> TestStage {
    let settings = json!({"title": "Smoker", "y": "temp", "series_name": "Temperature",
                          "marker_field": "stall", "marker_label": "Stall Detected"});
    let mut stage = TestStage::chart::<LineChart>(settings).unwrap();
    for start in (0..LINE_POINTS).step_by(10_000) {
        let outcome = stage.process(&line_records(start..start + 10_000)).unwrap();
        assert!(outcome.rejects.is_empty());
    }
    stage
}

fn bar_stage() -> TestStage {
    let settings = json!({"category": "author", "value": "count", "value_labels": true,
                          "colormap": "viridis", "x_label": "Author", "y_label": "Commits"});
    let mut stage = TestStage::chart::<BarChart>(settings).unwrap();
    let records: Vec<TestRecord> =
        (0..50).map(|i| TestRecord::json(json!({"author": format!("author {i}"), "count": (i * 37) % 101}))).collect();
    assert!(stage.process(&records).unwrap().rejects.is_empty());
    stage
}

fn render(c: &mut Criterion) {
    let line = line_stage();
    let bar = bar_stage();
    for (name, stage) in [("line 100k points", &line), ("bar 50 bars", &bar)] {
        for (format_name, format) in [("svg", ImageFormat::Svg), ("png", ImageFormat::Png)] {
            c.bench_function(&format!("{name}: frame + {format_name}"), |b| {
                b.iter(|| black_box(stage.render(format).unwrap()))
            });
        }
    }
}

fn ingest(c: &mut Criterion) {
    let records = line_records(0..LINE_POINTS);
    let mut group = c.benchmark_group("ingest");
    group.sample_size(10);
    group.bench_function("line 100k records", |b| {
        b.iter(|| {
            let mut stage = TestStage::chart::<LineChart>(json!({"y": "temp", "marker_field": "stall"})).unwrap();
            black_box(stage.process(&records).unwrap().rejects.len())
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = render, ingest
}
criterion_main!(benches);
