//! Latency: from a record being produced to the chart frame that includes
//! it, at 10,000 records/s. Target: p99 under 100 ms.
//!
//! The `ticks` source stamps each record with its production time; the
//! line chart plots it (x = that time, y = its number). Each time a frame
//! is published (drawn and ready for viewers), every record new in it
//! counts its latency as now - its production time. A record cannot be
//! shown sooner than the next frame, so the chart's frame rate bounds the
//! latency from below: it is measured at the default 20 frames/s and at 10 and 30.
//! Records of the first second are left out: they wait for the consumer to
//! join its group, a start-up cost (see the start-up benchmark).
//!
//! Run with `scripts/bench latency`.

#[path = "bench_support.rs"]
mod support;

use std::time::Duration;

use buzz::pipeline::{self, Role, RunOptions};
use serde::Deserialize;
use support::{now_ms, output_settings, percentile, pipeline};

const RATE: u64 = 10_000;
const SECONDS: u64 = 8;
/// Records produced in the first second of a run are start-up, not steady state.
const WARM_UP_MS: f64 = 1000.0;

#[derive(Deserialize)]
struct Frame {
    series: Vec<Series>,
}

#[derive(Deserialize)]
struct Series {
    points: Vec<[f64; 2]>,
}

fn measure(label: &str, transport: &str, fps: u32) {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"name = "latency"
[source]
type = "ticks"
rate_per_s = {RATE}
count = {}
[transport]
{transport}
[transform]
type = "identity"
[chart]
type = "line_chart"
x = "ts_ms"
y = "seq"
max_points = 200000
fps = {fps}
"#,
        RATE * SECONDS
    );
    let spec = pipeline(dir.path(), "latency", &text, &output_settings(dir.path()));
    let started_ms = now_ms();
    let running = pipeline::start(&spec, RunOptions { role: Role::Both, exit_when_done: true }).unwrap();
    let mut frames = running.shared().frames.subscribe();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut latencies = Vec::with_capacity((RATE * SECONDS) as usize);
    let mut seen = -1.0;
    let deadline = std::time::Instant::now() + Duration::from_secs(SECONDS + 30);
    while seen + 1.0 < (RATE * SECONDS) as f64 && std::time::Instant::now() < deadline {
        let changed = runtime.block_on(async { tokio::time::timeout(Duration::from_secs(2), frames.changed()).await });
        if !matches!(changed, Ok(Ok(()))) {
            continue;
        }
        let arrived = now_ms();
        let Some(frame) = frames.borrow_and_update().clone() else { continue };
        let frame: Frame = serde_json::from_slice(&frame.json).unwrap();
        // Points are in production order; the new ones are at the end.
        for [x_seconds, _] in frame.series[0].points.iter().rev().take_while(|p| p[1] > seen) {
            let produced_ms = x_seconds * 1000.0;
            if produced_ms - started_ms > WARM_UP_MS {
                latencies.push(arrived - produced_ms);
            }
        }
        seen = frame.series[0].points.last().map_or(seen, |p| p[1]);
    }
    let summary = running.wait();
    latencies.sort_by(f64::total_cmp);
    let p99 = percentile(&latencies, 0.99);
    println!(
        "latency {label:<6} {fps:>2} frames/s, {} records at {RATE}/s: p50 {:.1} ms, p99 {p99:.1} ms, max {:.1} ms over {} records ({} frames) | p99 / 100 ms target = {:.2}",
        summary.records_out,
        percentile(&latencies, 0.5),
        latencies.last().copied().unwrap_or_default(),
        latencies.len(),
        summary.frames,
        p99 / 100.0,
    );
}

fn main() {
    let _ = tracing_subscriber::fmt().with_env_filter("error").try_init();
    for fps in [10, 20, 30] {
        measure("kafka", "type = \"kafka\"\ntopic = \"latency\"", fps);
        measure("memory", "type = \"memory\"", fps);
    }
}
