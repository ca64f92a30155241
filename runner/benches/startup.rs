//! Start-up: `buzz run pipelines/smoker.toml` (the release binary, the
//! embedded broker, the shipped 250 ms interval, no dashboard) from spawning
//! the process to its first chart frame on disk (the chart's JSON file
//! appears; it is written atomically, after the SVG). Target: under 1 s.
//!
//! Baseline, in the same run: spawning `buzz --version` and waiting for it
//! to exit, the floor under any start (process, dynamic linking, clap).
//! Each run is stopped with SIGINT once its first frame is there.
//!
//! Run with `scripts/bench startup`.

#[path = "bench_support.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use support::{output_settings, release_buzz};

const RUNS: usize = 10;
const TARGET: Duration = Duration::from_secs(1);

fn version_floor() -> Duration {
    let started = Instant::now();
    let status = release_buzz().arg("--version").status().expect("target/release/buzz runs");
    assert!(status.success());
    started.elapsed()
}

/// Ctrl-C, and the clean stop it starts.
fn interrupt(mut child: Child, log: &Path) {
    // SAFETY: `child` is our running child; kill only sends a signal.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert!(status.success(), "buzz stopped badly ({status}):\n{}", std::fs::read_to_string(log).unwrap_or_default());
}

fn first_frame() -> Duration {
    let out = tempfile::tempdir().unwrap();
    let (json, log): (PathBuf, PathBuf) = (out.path().join("chart.json"), out.path().join("buzz.log"));
    let started = Instant::now();
    let mut command = release_buzz();
    command.args(["run", "pipelines/smoker.toml", "--http", "off"]);
    for setting in output_settings(out.path()) {
        command.args(["--set", &setting]);
    }
    let child = command.stderr(std::fs::File::create(&log).unwrap()).spawn().unwrap();
    while !json.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no chart after 30 s:\n{}",
            std::fs::read_to_string(&log).unwrap()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let elapsed = started.elapsed();
    let frame: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert!(frame["total_points"].as_u64() >= Some(1), "the first frame shows a reading");
    interrupt(child, &log);
    elapsed
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let mut floor: Vec<Duration> = (0..RUNS).map(|_| version_floor()).collect();
    let mut starts: Vec<Duration> = (0..RUNS).map(|_| first_frame()).collect();
    floor.sort();
    starts.sort();
    // p50 as the lower median (the 5th of 10), as the other benches count it.
    let (p50, max, floor_p50) = (starts[(RUNS - 1) / 2], starts[RUNS - 1], floor[(RUNS - 1) / 2]);
    println!(
        "startup smoker (embedded Kafka) to first chart frame, {RUNS} runs: min {:.0} ms, p50 {:.0} ms, max {:.0} ms | baseline `buzz --version` p50 {:.1} ms (start-up p50 = {:.0} x it) | p50 / 1 s target = {:.2}, max / 1 s target = {:.2} (target < 1)",
        ms(starts[0]),
        ms(p50),
        ms(max),
        ms(floor_p50),
        p50.as_secs_f64() / floor_p50.as_secs_f64(),
        p50.as_secs_f64() / TARGET.as_secs_f64(),
        max.as_secs_f64() / TARGET.as_secs_f64(),
    );
}
