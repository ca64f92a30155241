//! The plugin path without a broker: records per second through source ->
//! memory transport -> plugin transform -> chart state, with the chart
//! redrawn live (at its frame rate), for the buzz and smoker pipelines, on
//! ONE core (the process is pinned to CPU 0 before the pipeline starts).
//! Target: at least 1,000,000 records/s for small records (~130 bytes).
//!
//! Run with `scripts/bench path`.

#[path = "bench_support.rs"]
mod support;

use std::time::Instant;

use buzz::pipeline::{self, Role, RunOptions};
use support::{COUNT_BY_AUTHOR, cpu_seconds, output_settings, pin_to_one_core, pipeline, repo_root};

const TARGET: f64 = 1_000_000.0;

fn measure(name: &str, text: &str, overrides: &[String], records: u64) {
    let dir = tempfile::tempdir().unwrap();
    let mut overrides = overrides.to_vec();
    overrides.extend(output_settings(dir.path()));
    let spec = pipeline(dir.path(), name, text, &overrides);
    let cpu = cpu_seconds();
    let started = Instant::now();
    let running = pipeline::start(&spec, RunOptions { role: Role::Both, exit_when_done: true }).unwrap();
    let summary = running.wait();
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu;
    assert_eq!(summary.records_out, records, "{name}: every record reached the chart");
    let bytes = summary_bytes(&spec);
    let rate = records as f64 / elapsed;
    println!(
        "path {name:<7} {records} records of ~{bytes} bytes on one core: {rate:>10.0} records/s ({elapsed:.2} s, {cpu:.2} CPU-s, {} chart frames) | {:.2} x the 1,000,000 records/s target",
        summary.frames,
        rate / TARGET
    );
}

/// The average record size, measured by encoding what the source makes.
fn summary_bytes(spec: &buzz::config::PipelineSpec) -> usize {
    let mut source = pipeline::build_stage(spec, &spec.source).unwrap();
    let batch = source.poll(1000).unwrap();
    let total: usize = batch.records.iter().map(|r| r.payload.len).sum();
    total / batch.records.len().max(1)
}

fn main() {
    let _ = tracing_subscriber::fmt().with_env_filter("error").try_init();
    if !pin_to_one_core() {
        println!("path: could not pin to one core; figures are for the whole machine");
    }
    let buzz = format!(
        r#"name = "buzz"
[source]
type = "buzz_messages"
interval_ms = 0
count = 5000000
seed = 1
# Longer topics make the ~130-byte messages the target speaks of.
topics = ["a long read about the history of stream processing engines and their charts", "a talk on live charts that update as quickly as the data arrives", "a thread about counting messages per author in real time, at scale"]
[transport]
type = "memory"
{COUNT_BY_AUTHOR}"#
    );
    measure("buzz", &buzz, &[], 5_000_000);
    let smoker = format!(
        r#"name = "smoker"
[source]
type = "csv_replay"
path = {:?}
interval_ms = 0
loops = 20000
[transport]
type = "memory"
[transform]
type = "stall_detection"
[chart]
type = "line_chart"
x = "$index"
y = "temperature"
marker_field = "stall"
"#,
        repo_root().join("data/smoker.csv")
    );
    measure("smoker", &smoker, &[], 4_800_000);
}
