//! The plugin path without a broker: records per second through source ->
//! memory transport -> plugin transform -> chart state, with the chart
//! redrawn live (at its frame rate), for the buzz and smoker pipelines, on
//! ONE core (the process is pinned to CPU 0 before the pipeline starts).
//! Target: at least 1,000,000 records/s for small records (~130 bytes).
//!
//! Baseline, in the same run: the same work done inline in one Rust loop
//! (parse each record, count per author or run the stall window, update a
//! chart state) over the same source's records as it makes them, with no
//! plugin boundary, no threads, no transport and no frames drawn. Target:
//! buzz / inline >= 0.7, in records/s and in CPU time.
//!
//! Run with `scripts/bench path`.

#[path = "bench_support.rs"]
mod support;

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use buzz::pipeline::{self, Role, RunOptions};
use support::{COUNT_BY_AUTHOR, cpu_seconds, output_settings, pin_to_one_core, pipeline, repo_root};

const TARGET: f64 = 1_000_000.0;

#[derive(serde::Deserialize)]
struct Message<'a> {
    #[serde(borrow)]
    author: std::borrow::Cow<'a, str>,
}

#[derive(serde::Deserialize)]
struct Reading {
    temperature: f64,
}

/// A pipeline's work done inline, one record at a time.
trait Inline {
    fn take(&mut self, payload: &[u8]);
}

/// The buzz app inline: parse, count per author, set the bar.
#[derive(Default)]
struct CountInline {
    counts: HashMap<String, u64>,
    bars: HashMap<String, f64>,
}

impl Inline for CountInline {
    fn take(&mut self, payload: &[u8]) {
        let message: Message<'_> = serde_json::from_slice(payload).unwrap();
        let count = match self.counts.get_mut(message.author.as_ref()) {
            Some(count) => count,
            None => self.counts.entry(message.author.to_string()).or_default(),
        };
        *count += 1;
        let value = *count as f64;
        match self.bars.get_mut(message.author.as_ref()) {
            Some(bar) => *bar = value,
            None => drop(self.bars.insert(message.author.to_string(), value)),
        }
    }
}

/// The smoker inline: parse, a window of 10 readings, stall when it varies
/// by at most 0.2, and a line of at most 2,000 points (halved when full)
/// with the stalls counted.
#[derive(Default)]
struct StallsInline {
    temps: VecDeque<f64>,
    line: Vec<(u64, f64)>,
    seen: u64,
    marked: u64,
}

impl Inline for StallsInline {
    fn take(&mut self, payload: &[u8]) {
        let (window, threshold, max_points) = (10, 0.2, 2000);
        let reading: Reading = serde_json::from_slice(payload).unwrap();
        if self.temps.len() == window {
            self.temps.pop_front();
        }
        self.temps.push_back(reading.temperature);
        let (lo, hi) = self.temps.iter().fold((f64::MAX, f64::MIN), |(lo, hi), t| (lo.min(*t), hi.max(*t)));
        if self.temps.len() == window && hi - lo <= threshold {
            self.marked += 1;
        }
        self.line.push((self.seen, reading.temperature));
        self.seen += 1;
        if self.line.len() == 2 * max_points {
            let kept: Vec<(u64, f64)> = self.line.iter().step_by(2).copied().collect();
            self.line = kept;
        }
    }
}

/// The same work inline: the source polled directly on this thread, as
/// many records a call as the pipeline asks of it (`SOURCE_BATCH`), and
/// each record handled as it comes (no arena: the records stream through,
/// as they do in buzz).
/// Returns (records/s, CPU seconds).
fn inline_rate(spec: &buzz::config::PipelineSpec, records: u64, mut work: impl Inline) -> (f64, f64) {
    let cpu = cpu_seconds();
    let started = Instant::now();
    let mut source = pipeline::build_stage(spec, &spec.source).unwrap();
    let mut done = 0;
    while done < records {
        let batch = source.poll(pipeline::SOURCE_BATCH.min((records - done) as usize)).unwrap();
        for r in batch.records.iter() {
            work.take(r.payload);
            done += 1;
        }
    }
    std::hint::black_box(&mut work);
    (records as f64 / started.elapsed().as_secs_f64(), cpu_seconds() - cpu)
}

fn measure(name: &str, text: &str, overrides: &[String], records: u64, work: impl Inline) {
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
    let (inline, inline_cpu) = inline_rate(&spec, records, work);
    println!(
        "path {name:<7} the same work inline, one thread: {inline:>10.0} records/s ({inline_cpu:.2} CPU-s) | buzz / inline = {:.2} in records/s, {:.2} in CPU time",
        rate / inline,
        inline_cpu / cpu
    );
}

/// What picking fields costs a stage per record: the SDK's `pick` (its flat
/// fast path) against the serde_json visitor it falls back to, on 4,096 of
/// the source's records, best of 5 rounds of 1 M picks each.
fn pick_cost(name: &str, text: &str, fields: [&str; 2]) {
    let dir = tempfile::tempdir().unwrap();
    let spec = pipeline(dir.path(), name, text, &[]);
    let records = support::source_payloads(&spec, 4096);
    let nanos = |pick: &dyn Fn(&[u8])| {
        (0..5)
            .map(|_| {
                let started = Instant::now();
                records.iter().cycle().take(1_000_000).for_each(|r| pick(r));
                started.elapsed().as_nanos() as f64 / 1e6
            })
            .fold(f64::MAX, f64::min)
    };
    let fast = nanos(&|r| drop(std::hint::black_box(buzz_sdk::fields::pick(r, fields))));
    let serde = nanos(&|r| drop(std::hint::black_box(buzz_sdk::fields::pick_with_serde(r, fields))));
    println!(
        "path {name:<7} picking {fields:?} from a record: {fast:.0} ns (fast path) vs {serde:.0} ns (serde_json visitor) | {:.2}x faster",
        serde / fast
    );
}

/// The average record size, measured by encoding what the source makes.
fn summary_bytes(spec: &buzz::config::PipelineSpec) -> usize {
    let mut source = pipeline::build_stage(spec, &spec.source).unwrap();
    let batch = source.poll(1000).unwrap();
    let total: usize = batch.records.iter().map(|r| r.payload.len()).sum();
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
    measure("buzz", &buzz, &[], 5_000_000, CountInline::default());
    pick_cost("buzz", &buzz, ["author", "x"]);
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
    measure("smoker", &smoker, &[], 4_800_000, StallsInline::default());
    pick_cost("smoker", &smoker, ["temperature", "stall"]);
}
