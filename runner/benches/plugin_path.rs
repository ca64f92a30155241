//! The plugin path without a broker: records per second through source ->
//! memory transport -> plugin transform -> chart state, with the chart
//! redrawn live (at its frame rate), for the buzz and smoker pipelines, on
//! ONE core (the process is pinned to CPU 0 before the pipeline starts).
//! Target: at least 1,000,000 records/s for small records (~130 bytes).
//!
//! Baseline, in the same run: the same work done inline in one Rust loop
//! (parse each record, count per author or run the stall window, update a
//! chart state) over the same records, made beforehand, with no plugin
//! boundary, no threads and no transport. Target: buzz / inline >= 0.7.
//!
//! Run with `scripts/bench path`.

#[path = "bench_support.rs"]
mod support;

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use buzz::pipeline::{self, Role, RunOptions};
use support::{COUNT_BY_AUTHOR, cpu_seconds, output_settings, pin_to_one_core, pipeline, repo_root};

const TARGET: f64 = 1_000_000.0;

/// The records a pipeline's source makes, `count` of them, in one arena.
struct Records {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Records {
    fn made_by(spec: &buzz::config::PipelineSpec, count: usize) -> Records {
        let mut source = pipeline::build_stage(spec, &spec.source).unwrap();
        let mut records = Records { bytes: Vec::with_capacity(count * 140), ends: Vec::with_capacity(count) };
        while records.ends.len() < count {
            let batch = source.poll(4096.min(count - records.ends.len())).unwrap();
            for r in batch.records {
                // SAFETY: the batch is alive until the next poll.
                records.bytes.extend_from_slice(unsafe { r.payload.as_bytes() });
                records.ends.push(records.bytes.len());
            }
        }
        records
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(self.ends.iter()).map(|(start, end)| &self.bytes[start..*end])
    }
}

#[derive(serde::Deserialize)]
struct Message<'a> {
    #[serde(borrow)]
    author: std::borrow::Cow<'a, str>,
}

#[derive(serde::Deserialize)]
struct Reading {
    temperature: f64,
}

/// The buzz app inline: parse, count per author, set the bar.
fn count_inline(records: &Records) -> u64 {
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut bars: HashMap<String, f64> = HashMap::new();
    for payload in records.iter() {
        let message: Message<'_> = serde_json::from_slice(payload).unwrap();
        let count = match counts.get_mut(message.author.as_ref()) {
            Some(count) => count,
            None => counts.entry(message.author.to_string()).or_default(),
        };
        *count += 1;
        let value = *count as f64;
        match bars.get_mut(message.author.as_ref()) {
            Some(bar) => *bar = value,
            None => drop(bars.insert(message.author.to_string(), value)),
        }
    }
    bars.values().sum::<f64>() as u64
}

/// The smoker inline: parse, a window of 10 readings, stall when it varies
/// by at most 0.2, and a line of at most 2,000 points (halved when full)
/// with the stalls marked.
fn stalls_inline(records: &Records) -> u64 {
    let (window, threshold, max_points) = (10, 0.2, 2000);
    let mut temps: VecDeque<f64> = VecDeque::with_capacity(window);
    let mut line: Vec<(u64, f64)> = Vec::with_capacity(2 * max_points);
    let mut marked = 0u64;
    for (index, payload) in records.iter().enumerate() {
        let reading: Reading = serde_json::from_slice(payload).unwrap();
        if temps.len() == window {
            temps.pop_front();
        }
        temps.push_back(reading.temperature);
        let (lo, hi) = temps.iter().fold((f64::MAX, f64::MIN), |(lo, hi), t| (lo.min(*t), hi.max(*t)));
        if temps.len() == window && hi - lo <= threshold {
            marked += 1;
        }
        line.push((index as u64, reading.temperature));
        if line.len() == 2 * max_points {
            let kept: Vec<(u64, f64)> = line.iter().step_by(2).copied().collect();
            line = kept;
        }
    }
    std::hint::black_box(&line);
    marked + 1
}

/// Records per second of the same work inline: the source making the
/// records (polled directly, 4,096 a call, on this thread) plus the loop
/// over them. Returns (rate, seconds making, seconds in the loop).
fn inline_rate(spec: &buzz::config::PipelineSpec, records: u64, work: fn(&Records) -> u64) -> (f64, f64, f64) {
    let started = Instant::now();
    let made = Records::made_by(spec, records as usize);
    let making = started.elapsed().as_secs_f64();
    let started = Instant::now();
    std::hint::black_box(work(&made));
    let looping = started.elapsed().as_secs_f64();
    (records as f64 / (making + looping), making, looping)
}

fn measure(name: &str, text: &str, overrides: &[String], records: u64, work: fn(&Records) -> u64) {
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
    let (inline, making, looping) = inline_rate(&spec, records, work);
    println!(
        "path {name:<7} the same work inline, one thread: {inline:>10.0} records/s (source {making:.2} s + parse, state and chart {looping:.2} s) | buzz / inline = {:.2}",
        rate / inline
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
    measure("buzz", &buzz, &[], 5_000_000, count_inline);
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
    measure("smoker", &smoker, &[], 4_800_000, stalls_inline);
}
