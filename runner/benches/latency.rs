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
//! Each Kafka round has a topic of its own: a second round on the first
//! one's topic would restore (and chart) the first round's records.
//! BENCH_CHECKPOINT_MS sets `[state] checkpoint_ms` (default 1000),
//! BENCH_MAX_POINTS the chart's `max_points` (default 200,000: every record
//! stays on the chart, and in its checkpoint).
//!
//! Run with `scripts/bench latency`.

#[path = "bench_support.rs"]
mod support;

use std::time::Duration;

use buzz::pipeline::{self, Role, RunOptions};
use support::{frame_delays, now_ms, output_settings, percentile, pipeline};

const RATE: u64 = 10_000;
const SECONDS: u64 = 8;
/// Records produced in the first second of a run are start-up, not steady state.
const WARM_UP_MS: f64 = 1000.0;

fn measure(label: &str, transport: &str, fps: u32) {
    let dir = tempfile::tempdir().unwrap();
    let checkpoint_ms = std::env::var("BENCH_CHECKPOINT_MS").unwrap_or_else(|_| "1000".into());
    let max_points = std::env::var("BENCH_MAX_POINTS").unwrap_or_else(|_| "200000".into());
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
max_points = {max_points}
fps = {fps}
[state]
checkpoint_ms = {checkpoint_ms}
"#,
        RATE * SECONDS
    );
    let spec = pipeline(dir.path(), "latency", &text, &output_settings(dir.path()));
    let started_ms = now_ms();
    let running = pipeline::start(&spec, RunOptions { role: Role::Both, exit_when_done: true }).unwrap();
    let limit = Duration::from_secs(SECONDS + 30);
    let latencies = frame_delays(&running, RATE * SECONDS, started_ms + WARM_UP_MS, limit);
    let summary = running.wait();
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
        measure("kafka", &format!("type = \"kafka\"\ntopic = \"latency-{fps}\""), fps);
        measure("memory", "type = \"memory\"", fps);
    }
}
