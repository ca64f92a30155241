//! What checkpoints cost, each figure a ratio to a baseline run in the same
//! process:
//!
//! - throughput with checkpoints at the default interval (1 s) over the
//!   same pipeline checkpointing only at its start and end
//!   (`checkpoint_ms` = 600,000), on the file transport (the plugin path
//!   with a durable transport) and on Kafka (the embedded broker, and tansu
//!   when installed); target >= 0.9. Rounds alternate, medians compared.
//! - restore time of a state of 100,000 keys: a consumer started on a file
//!   whose checkpoint holds 100,000 authors' counts, against the same
//!   consumer started on an empty checkpoint at the same position (both
//!   read nothing); the difference is the restore; target < 1 s.
//!
//! - merged-view lag: a `--role view` process charts a topic from the
//!   checkpoints of the consumer that reads it; p99 of the time from a
//!   record's production to the view's first frame showing it, against the
//!   same for the consumer's own chart; target: at most the checkpoint
//!   interval + 100 ms.
//!
//! - the file transport's fsync policy: throughput with `fsync = "always"`
//!   (after every batch) and `"interval"` (the default, every second) over
//!   `"never"` (only at checkpoints), rounds alternating, medians compared.
//!
//! Run with `scripts/bench checkpoints`. BENCH_RECORDS sets the records
//! per throughput round (default 2,000,000), BENCH_ROUNDS the rounds
//! (default 3); BENCH_ONLY_VIEW=1 measures only the merged-view lag,
//! BENCH_ONLY_FSYNC=1 only the fsync policies.

#[path = "bench_support.rs"]
mod support;

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use buzz::pipeline::{self, Role, RunOptions};
use support::{COUNT_BY_AUTHOR, frame_delays, now_ms, output_settings, percentile, pipeline, release_buzz};

const NO_CHECKPOINTS_MS: &str = "600000";

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Records per second of one full run of the buzz pipeline over `transport`.
fn round(transport: &str, checkpoint_ms: &str, records: u64) -> f64 {
    static ROUND: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = ROUND.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = tempfile::tempdir().unwrap();
    let transport = transport.replace("{dir}", &dir.path().display().to_string()).replace("{n}", &n.to_string());
    let text = format!(
        r#"name = "bench"
[source]
type = "buzz_messages"
interval_ms = 0
count = {records}
seed = 1
{transport}
{COUNT_BY_AUTHOR}[state]
checkpoint_ms = {checkpoint_ms}
"#
    );
    let spec = pipeline(dir.path(), "bench", &text, &output_settings(dir.path()));
    let started = Instant::now();
    let summary = pipeline::start(&spec, RunOptions { role: Role::Both, exit_when_done: true }).unwrap().wait();
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(summary.records_out, records, "every record reached the chart");
    records as f64 / elapsed
}

fn throughput(name: &str, transport: &str) {
    let records = env_or("BENCH_RECORDS", 2_000_000);
    let rounds = env_or("BENCH_ROUNDS", 3);
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        without.push(round(transport, NO_CHECKPOINTS_MS, records));
        with.push(round(transport, "1000", records));
    }
    let (with, without) = (median(with), median(without));
    println!(
        "checkpoints {name:<14} {records} records: {with:>9.0} records/s checkpointing every second, {without:>9.0} without | ratio {:.2} (target 0.9)",
        with / without
    );
}

/// The fsync policies of the file transport against `never`.
fn fsync_policies() {
    let records = env_or("BENCH_RECORDS", 2_000_000);
    let rounds = env_or("BENCH_ROUNDS", 3);
    let transport =
        |policy: &str| format!("[transport]\ntype = \"file\"\npath = \"{{dir}}/t.jsonl\"\nfsync = \"{policy}\"");
    let policies = ["never", "interval", "always"];
    let mut figures: Vec<Vec<f64>> = vec![Vec::new(); policies.len()];
    for _ in 0..rounds {
        for (policy, figures) in policies.iter().zip(&mut figures) {
            figures.push(round(&transport(policy), "1000", records));
        }
    }
    let medians: Vec<f64> = figures.into_iter().map(median).collect();
    for (policy, figure) in policies.iter().zip(&medians).skip(1) {
        println!(
            "fsync {policy:<20} {records} records: {figure:>9.0} records/s, {:>9.0} with fsync = \"never\" | ratio {:.2}",
            medians[0],
            figure / medians[0]
        );
    }
}

/// Seconds for a consumer to start, restore the checkpoint in `dir` and
/// exit with nothing to read.
fn consumer_run(pipeline: &Path, dir: &Path) -> f64 {
    let started = Instant::now();
    let status = release_buzz()
        .args(["run", &pipeline.display().to_string(), "--role", "consume", "--exit-when-done", "--no-reload"])
        .args(["--http", "off"])
        .env("BUZZ_LOG", "error")
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(status.success());
    started.elapsed().as_secs_f64()
}

fn restore() {
    const KEYS: usize = 100_000;
    let dir = tempfile::tempdir().unwrap();
    let mut data = std::fs::File::create(dir.path().join("data.jsonl")).unwrap();
    for i in 0..KEYS {
        writeln!(data, r#"{{"message":"hello","author":"author-{i:06}"}}"#).unwrap();
    }
    drop(data);
    let text = format!(
        r#"name = "restore"
[source]
type = "buzz_messages"
[transport]
type = "file"
path = "data.jsonl"
{COUNT_BY_AUTHOR}top = 10
output = "chart"
"#
    );
    let pipeline = dir.path().join("restore.toml");
    std::fs::write(&pipeline, text).unwrap();
    consumer_run(&pipeline, dir.path());
    let checkpoint = dir.path().join("data.jsonl.default.checkpoint");
    let bytes = std::fs::metadata(&checkpoint).unwrap().len();
    let full = std::fs::read(&checkpoint).unwrap();
    let reset = |reread: bool| {
        let mut command: Command = release_buzz();
        command.args(["reset", &pipeline.display().to_string()]).current_dir(dir.path());
        if reread {
            command.arg("--reread");
        }
        assert!(command.status().unwrap().success());
    };
    let (mut restoring, mut empty) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        std::fs::write(&checkpoint, &full).unwrap();
        restoring.push(consumer_run(&pipeline, dir.path()));
        reset(false);
        empty.push(consumer_run(&pipeline, dir.path()));
    }
    let (restoring, empty) = (median(restoring), median(empty));
    println!(
        "checkpoints restore        {KEYS} keys ({:.1} MB checkpoint): start-to-exit {restoring:.3} s restoring, {empty:.3} s from an empty checkpoint | restore {:.3} s (target < 1 s)",
        bytes as f64 / 1e6,
        restoring - empty
    );
}

fn p99(sorted: &[f64]) -> f64 {
    percentile(sorted, 0.99)
}

fn view_lag() {
    const RATE: u64 = 250;
    const SECONDS: u64 = 8;
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"name = "viewlag"
[source]
type = "ticks"
rate_per_s = {RATE}
count = {}
[transport]
type = "kafka"
brokers = "embedded"
topic = "viewlag"
partitions = 2
[transform]
type = "identity"
[chart]
type = "line_chart"
x = "ts_ms"
y = "seq"
max_points = 100000
[state]
checkpoint_ms = 1000
"#,
        RATE * SECONDS
    );
    let started = now_ms();
    // The consumer and the view run until stopped: with nothing produced
    // yet they would be "done" at once.
    let start = |role: Role, out: &str| {
        let settings = output_settings(&dir.path().join(out));
        let spec = pipeline(dir.path(), "viewlag", &text, &settings);
        pipeline::start(&spec, RunOptions { role, exit_when_done: role == Role::Produce }).unwrap()
    };
    let consumer = start(Role::Consume, "consumer");
    let view = start(Role::View, "view");
    let producer = start(Role::Produce, "producer");
    let records = RATE * SECONDS;
    let limit = Duration::from_secs(60);
    let (own, merged) = std::thread::scope(|s| {
        let own = s.spawn(|| frame_delays(&consumer, records, started + 2000.0, limit));
        let merged = frame_delays(&view, records, started + 2000.0, limit);
        (own.join().unwrap(), merged)
    });
    producer.wait();
    consumer.stop_token().stop();
    view.stop_token().stop();
    consumer.wait();
    view.wait();
    if merged.is_empty() || own.is_empty() {
        println!(
            "checkpoints view lag       no records seen: {} in the view, {} in the consumer's chart (a miss)",
            merged.len(),
            own.len()
        );
        return;
    }
    println!(
        "checkpoints view lag       {records} records at {RATE}/s over 2 partitions: p99 {:.0} ms in the view (from checkpoints), {:.0} ms in the consumer's own chart | view p99 / (1000 + 100 ms) target = {:.2}",
        p99(&merged),
        p99(&own),
        p99(&merged) / 1100.0
    );
}

fn main() {
    let _ = tracing_subscriber::fmt().with_env_filter("error").try_init();
    if std::env::var("BENCH_ONLY_VIEW").is_ok() {
        view_lag();
        return;
    }
    if std::env::var("BENCH_ONLY_FSYNC").is_ok() {
        fsync_policies();
        return;
    }
    throughput("file", "[transport]\ntype = \"file\"\npath = \"{dir}/t.jsonl\"");
    throughput(
        "kafka-embedded",
        "[transport]\ntype = \"kafka\"\nbrokers = \"embedded\"\ntopic = \"bench-{n}\"\ngroup = \"bench-{n}\"\npartitions = 3",
    );
    fsync_policies();
    restore();
    view_lag();
}
