//! What a frame costs: the runner asks for a frame and renders it at the
//! frame rate, so both must stay in the low milliseconds however long the
//! chart has run. `TestStage::render` is the runner's path: frame, encode
//! to JSON, decode, draw.
//!
//! Baseline, in the same process: plotters alone drawing the same data the
//! plain way (every one of the 100,000 points as one line series; 50
//! rectangles), with a caption and a mesh, on the same 800x500 canvas. The
//! ratio buzz / bare says what buzz's frame (JSON round trip, downsampling,
//! labels, markers, legend, tooltips) costs over the drawing library itself.

use std::hint::black_box;
use std::time::{Duration, Instant};

use buzz_plugin_charts::{BarChart, LineChart};
use buzz_sdk::ImageFormat;
use buzz_sdk::testing::{TestRecord, TestStage};
use criterion::{Criterion, criterion_group, criterion_main};
use plotters::prelude::*;
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

/// The smoker bench's line: a saw-tooth replayed until it has more teeth
/// than the plot has pixel columns (2,000 teeth of 24 readings).
fn sawtooth_stage() -> TestStage {
    let mut stage = TestStage::chart::<LineChart>(json!({"x": "$index", "title": "Saw-tooth"})).unwrap();
    let records: Vec<TestRecord> =
        (0..48_000).map(|i| TestRecord::json(json!({"value": 70.0 + (i % 24) as f64 * 3.0}))).collect();
    assert!(stage.process(&records).unwrap().rejects.is_empty());
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
    let sawtooth = sawtooth_stage();
    for (name, stage) in [("line 100k points", &line), ("line saw-tooth", &sawtooth), ("bar 50 bars", &bar)] {
        for (format_name, format) in [("svg", ImageFormat::Svg), ("png", ImageFormat::Png)] {
            c.bench_function(&format!("{name}: frame + {format_name}"), |b| {
                b.iter(|| black_box(stage.render(format).unwrap()))
            });
        }
    }
}

/// The 100,000 points as plotters draws them with no help: one line series.
fn bare_line_svg(points: &[(f64, f64)]) -> String {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (800, 500)).into_drawing_area();
        root.fill(&WHITE).unwrap();
        let (x0, x1) = (points[0].0, points[points.len() - 1].0);
        let mut chart = ChartBuilder::on(&root)
            .caption("Smoker", ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(x0..x1, 180.0..270.0)
            .unwrap();
        chart.configure_mesh().label_style(("sans-serif", 12)).draw().unwrap();
        chart.draw_series(LineSeries::new(points.iter().copied(), &BLUE)).unwrap();
        root.present().unwrap();
    }
    out
}

/// 50 bars as plotters draws them with no help: one rectangle each.
fn bare_bar_svg(values: &[f64]) -> String {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (800, 500)).into_drawing_area();
        root.fill(&WHITE).unwrap();
        let mut chart = ChartBuilder::on(&root)
            .caption("Commits", ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..values.len() as f64, 0.0..110.0)
            .unwrap();
        chart.configure_mesh().label_style(("sans-serif", 12)).draw().unwrap();
        let bars = values
            .iter()
            .enumerate()
            .map(|(i, v)| Rectangle::new([(i as f64 + 0.1, 0.0), (i as f64 + 0.9, *v)], BLUE.filled()));
        chart.draw_series(bars).unwrap();
        root.present().unwrap();
    }
    out
}

/// Median time of `f` over enough runs to settle.
fn median_ms(mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..60)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Prints each SVG frame against bare plotters and the 5 ms target.
fn versus_bare_plotters(_: &mut Criterion) {
    let line = line_stage();
    let bar = bar_stage();
    // The first render registers the embedded font the bare charts use too.
    line.render(ImageFormat::Svg).unwrap();
    let points: Vec<(f64, f64)> =
        (0..LINE_POINTS).map(|i| (i as f64, 225.0 + 20.0 * (i as f64 / 900.0).sin() + (i % 7) as f64 * 0.3)).collect();
    let values: Vec<f64> = (0..50).map(|i| ((i * 37) % 101) as f64).collect();
    let rows = [
        (
            "line 100k points",
            median_ms(|| drop(black_box(line.render(ImageFormat::Svg).unwrap()))),
            median_ms(|| drop(black_box(bare_line_svg(&points)))),
        ),
        (
            "bar 50 bars",
            median_ms(|| drop(black_box(bar.render(ImageFormat::Svg).unwrap()))),
            median_ms(|| drop(black_box(bare_bar_svg(&values)))),
        ),
    ];
    for (name, buzz, bare) in rows {
        println!(
            "render {name:<17} svg: buzz {buzz:.2} ms, bare plotters {bare:.2} ms, buzz / bare = {:.2} | buzz / 5 ms target = {:.2}",
            buzz / bare,
            buzz / 5.0
        );
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
    targets = render, ingest, versus_bare_plotters
}
criterion_main!(benches);
