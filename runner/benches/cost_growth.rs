//! How cost grows: throughput and frame time against the number of
//! distinct keys a bar chart counts (1, 1,000, 100,000), and against the
//! records a line chart has seen. The baseline of each row is the first
//! row of its table, measured in the same run: a frame's cost should not
//! grow with the records seen, and with keys only as far as the chart shows
//! them (`max_categories`, 1,000 by default; beyond it keys fold into
//! "other").
//!
//! Run with `scripts/bench growth`.

#[path = "bench_support.rs"]
mod support;

use std::time::{Duration, Instant};

use buzz::pipeline::{self, Role, RunOptions};
use support::{output_settings, pin_to_one_core, pipeline};

/// Runs `text` to its end; (records/s, frames drawn, mean draw time of a
/// frame, draw time of the last frame).
fn run(name: &str, text: &str, records: u64) -> (f64, u64, Duration, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let spec = pipeline(dir.path(), name, text, &output_settings(dir.path()));
    let started = Instant::now();
    let running = pipeline::start(&spec, RunOptions { role: Role::Both, exit_when_done: true }).unwrap();
    let shared = running.shared().clone();
    let summary = running.wait();
    let rate = records as f64 / started.elapsed().as_secs_f64();
    assert_eq!(summary.records_out, records, "{name}: every record reached the chart");
    let frame = shared.frames().borrow().clone().expect("a frame was drawn");
    (rate, frame.sequence, frame.draw_time_total / frame.sequence.max(1) as u32, frame.draw_time)
}

fn keys(count: usize) -> String {
    let names: Vec<String> = (0..count).map(|i| format!("\"author-{i}\"")).collect();
    format!("[{}]", names.join(", "))
}

fn main() {
    let _ = tracing_subscriber::fmt().with_env_filter("error").try_init();
    if !pin_to_one_core() {
        println!("growth: could not pin to one core; figures are for the whole machine");
    }
    let records = 2_000_000u64;
    println!("growth: {records} buzz messages counted per author, bars redrawn at 10 frames/s");
    let mut first = None;
    for (authors, max_categories) in [(1, 1000), (1_000, 1000), (100_000, 1000), (100_000, 100_000)] {
        let text = format!(
            "name = \"keys\"\n[source]\ntype = \"buzz_messages\"\ninterval_ms = 0\ncount = {records}\nseed = 1\nauthors = {}\n[transport]\ntype = \"memory\"\n[transform]\ntype = \"count_by\"\nfield = \"author\"\nmax_categories = {max_categories}\n[chart]\ntype = \"bar_chart\"\ncategory = \"author\"\nvalue = \"count\"\nmax_categories = {max_categories}\nfps = 10\n",
            keys(authors)
        );
        let (rate, frames, draw, _) = run("keys", &text, records);
        let (base_rate, base_draw) = *first.get_or_insert((rate, draw));
        println!(
            "growth keys {authors:>7} (max_categories {max_categories:>6}): {rate:>9.0} records/s ({:.2} x 1 key), {frames:>3} frames, {:>8.2} ms a frame ({:.1} x 1 key)",
            rate / base_rate,
            draw.as_secs_f64() * 1000.0,
            draw.as_secs_f64() / base_draw.as_secs_f64()
        );
    }
    println!("growth: smoker readings on a line chart of at most 2,000 points, 10 frames/s");
    let mut first = None;
    for loops in [5u64, 500, 5_000, 50_000] {
        let records = loops * 240;
        let text = format!(
            "name = \"points\"\n[source]\ntype = \"csv_replay\"\npath = {:?}\ninterval_ms = 0\nloops = {loops}\n[transport]\ntype = \"memory\"\n[transform]\ntype = \"stall_detection\"\n[chart]\ntype = \"line_chart\"\nx = \"$index\"\ny = \"temperature\"\nmarker_field = \"stall\"\nfps = 10\n",
            support::repo_root().join("data/smoker.csv")
        );
        let (rate, frames, _, last) = run("points", &text, records);
        let base = *first.get_or_insert(last);
        println!(
            "growth points {records:>9} seen: {rate:>9.0} records/s, {frames:>3} frames, the last frame {:>6.2} ms ({:.2} x {} seen)",
            last.as_secs_f64() * 1000.0,
            last.as_secs_f64() / base.as_secs_f64(),
            5 * 240
        );
    }
}
