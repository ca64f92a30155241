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
//! Then produced → on the page: the same, timed when a dashboard client
//! receives the frame (`page_frames`), at 1 and at 10,000 records/s, with
//! the frame-clock figure of the same run for the ratio. Target: p99
//! under 20 ms for both. BENCH_PAGE_ONLY=1 runs only this part. It runs
//! on the embedded broker, in memory, and on tansu (a real broker process)
//! when scripts/setup-test installed it; tansu's group join takes about 3
//! s, so its first 5 s are start-up.
//! BENCH_KAFKA_PROPERTIES adds librdkafka settings to the Kafka transport
//! (a TOML inline table, e.g. `{ "linger.ms" = "1" }`), to try a tuning.
//!
//! Run with `scripts/bench latency`.

#[path = "viewer/page_frames.rs"]
mod page_frames;
#[path = "bench_support.rs"]
mod support;

use std::time::Duration;

use buzz::pipeline::{self, Role, RunOptions};
use support::{frame_delays, now_ms, output_settings, percentile, pipeline};

const RATE: u64 = 10_000;
const SECONDS: u64 = 8;
/// Records produced in the first second of a run are start-up, not steady state.
const WARM_UP_MS: f64 = 1000.0;
/// The same on tansu, whose consumer group join alone takes about 3 s.
const TANSU_WARM_UP_MS: f64 = 5000.0;

/// The pipeline: `rate` ticks a second for `SECONDS` (at least 20 records),
/// plotted by a line chart drawing at most `fps` frames a second, keeping
/// up to the `max_points` setting (an environment variable, else `default`).
fn latency_pipeline(transport: &str, fps: u32, rate: u64, (max_points, default): (&str, &str)) -> String {
    let checkpoint_ms = std::env::var("BENCH_CHECKPOINT_MS").unwrap_or_else(|_| "1000".into());
    let max_points = std::env::var(max_points).unwrap_or_else(|_| default.into());
    format!(
        r#"name = "latency"
[source]
type = "ticks"
rate_per_s = {rate}
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
        records(rate)
    )
}

fn records(rate: u64) -> u64 {
    (rate * SECONDS).max(20)
}

fn measure(label: &str, transport: &str, fps: u32) {
    let dir = tempfile::tempdir().unwrap();
    let text = latency_pipeline(transport, fps, RATE, ("BENCH_MAX_POINTS", "200000"));
    let spec = pipeline(dir.path(), "latency", &text, &output_settings(dir.path()));
    let started_ms = now_ms();
    let running = pipeline::start(&spec, RunOptions { role: Role::Both, exit_when_done: true }).unwrap();
    let limit = Duration::from_secs(SECONDS + 30);
    let latencies = frame_delays(&running, records(RATE), started_ms + WARM_UP_MS, limit);
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

/// Produced → received by a dashboard client, next to produced → frame
/// published, in one run at `rate` records a second (default 20 frames/s).
fn measure_page(label: &str, transport: &str, rate: u64, warm_up_ms: f64) {
    let dir = tempfile::tempdir().unwrap();
    let text = latency_pipeline(transport, 20, rate, ("BENCH_PAGE_MAX_POINTS", "2000"));
    let spec = pipeline(dir.path(), "latency", &text, &output_settings(dir.path()));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let started_ms = now_ms();
    let running = pipeline::start(&spec, RunOptions { role: Role::Both, exit_when_done: true }).unwrap();
    let view = buzz::dashboard::PipelineView { name: spec.name.clone(), shared: running.shared().clone(), files: None };
    let address = runtime.block_on(buzz::dashboard::serve("127.0.0.1:0".parse().unwrap(), vec![view], &[])).unwrap();
    let warm_up = started_ms + warm_up_ms;
    let page = page_frames::on_the_page(address, records(rate), rate as f64, warm_up);
    let published = page_frames::published(&running, records(rate), rate as f64, warm_up);
    let summary = running.wait();
    let frames = published.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
    let page = page.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
    let (p99_frame, p99_page) = (percentile(&frames, 0.99), percentile(&page, 0.99));
    println!(
        "on the page {label:<6} {rate:>5} records/s: p50 {:.1} ms, p99 {p99_page:.1} ms, max {:.1} ms over {} records ({} frames) | frame published p99 {p99_frame:.1} ms | page / frame p99 = {:.2} | p99 / 20 ms target = {:.2}",
        percentile(&page, 0.5),
        page.last().copied().unwrap_or_default(),
        page.len(),
        summary.frames,
        p99_page / p99_frame,
        p99_page / 20.0,
    );
}

/// The Kafka transport's table, on topic `topic`, of the embedded broker.
fn kafka(topic: &str) -> String {
    let properties = std::env::var("BENCH_KAFKA_PROPERTIES").map(|p| format!("\nproperties = {p}")).unwrap_or_default();
    format!("type = \"kafka\"\ntopic = \"{topic}\"{properties}")
}

/// The same on the broker at `address`.
fn kafka_at(address: &str, topic: &str) -> String {
    format!("{}\nbrokers = {address:?}", kafka(topic))
}

fn main() {
    let _ = tracing_subscriber::fmt().with_env_filter("error").try_init();
    for rate in [1, RATE] {
        measure_page("kafka", &kafka(&format!("latency-page-{rate}")), rate, WARM_UP_MS);
        measure_page("memory", "type = \"memory\"", rate, WARM_UP_MS);
        match support::start_tansu("tansu", "memory://tansu/", &std::env::temp_dir()) {
            Some((_tansu, address)) => {
                measure_page("tansu", &kafka_at(&address, "latency-page"), rate, TANSU_WARM_UP_MS)
            }
            None => println!("on the page tansu: skipped (tansu is not installed: run scripts/setup-test)"),
        }
    }
    if std::env::var_os("BENCH_PAGE_ONLY").is_some() {
        return;
    }
    for fps in [10, 20, 30] {
        measure("kafka", &kafka(&format!("latency-{fps}")), fps);
        measure("memory", "type = \"memory\"", fps);
    }
}
