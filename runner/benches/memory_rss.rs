//! Memory: peak resident set size of `buzz run` on the smoker pipeline at
//! full speed (line chart with downsampling), through 1 and 10 million
//! records. Target: under 100 MB, and flat as records grow.
//!
//! Each run is its own release `buzz` process, so its peak is exact: the
//! kernel's high-water mark of the process (`ru_maxrss` from `wait4` when it
//! exits). The baseline is the 1 million run in the same bench: the ratio
//! 10M / 1M is 1.0 when memory is flat. RSS is also sampled from /proc every
//! 20 ms while a run lasts; the median sample is its steady level (a peak is
//! the top of a noisy signal, so a longer run's peak sits a little higher
//! even when the level is flat). MB are 10^6 bytes. Records/s is over the
//! run's `elapsed_s` (its summary: pipeline start to final chart).
//!
//! Transports: the shipped pipeline's Kafka on the embedded broker (which
//! keeps up to 100,000 records or 5 MB per partition in this process), then
//! a copy of the pipeline with a file transport instead.
//!
//! Run with `scripts/bench memory`.

#[path = "bench_support.rs"]
mod support;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use support::{output_settings, release_buzz, repo_root};

const ROWS: u64 = 240;
const TARGET_MB: f64 = 100.0;

struct Run {
    records: u64,
    records_per_s: f64,
    peak_kib: u64,
    median_kib: u64,
}

fn mb(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1e6
}

/// VmRSS of a live process, in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Waits for the child `pid` and returns its peak RSS in KiB.
fn wait_for_peak(pid: u32, log: &Path) -> u64 {
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child, not yet reaped; both pointers are valid.
    let reaped = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid as libc::pid_t, "wait4: {}", std::io::Error::last_os_error());
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    assert!(ok, "buzz failed (status {status}):\n{}", std::fs::read_to_string(log).unwrap_or_default());
    // Linux gives ru_maxrss in KiB.
    usage.ru_maxrss as u64
}

#[expect(clippy::zombie_processes, reason = "wait_for_peak reaps the child with wait4, for its rusage")]
fn run(over_file_transport: bool, loops: u64) -> Run {
    let out = tempfile::tempdir().unwrap();
    let pipeline = if over_file_transport { over_file(out.path()) } else { repo_root().join("pipelines/smoker.toml") };
    let (summary, log) = (out.path().join("summary.json"), out.path().join("buzz.log"));
    let mut command = release_buzz();
    command.arg("run").arg(&pipeline);
    let settings = ["source.interval_ms=0".to_string(), format!("source.loops={loops}"), "chart.x=$index".into()];
    for setting in settings.into_iter().chain(output_settings(out.path())) {
        command.args(["--set", &setting]);
    }
    let child = command
        .args(["--exit-when-done", "--http", "off", "--no-reload", "--summary"])
        .arg(&summary)
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("target/release/buzz runs (cargo build --release --workspace)");
    let pid = child.id();
    let done = AtomicBool::new(false);
    let (peak_kib, mut samples) = std::thread::scope(|scope| {
        let sampler = scope.spawn(|| {
            let mut samples = Vec::new();
            while !done.load(Ordering::Relaxed) {
                samples.extend(rss_kib(pid));
                std::thread::sleep(Duration::from_millis(20));
            }
            samples
        });
        let peak = wait_for_peak(pid, &log);
        done.store(true, Ordering::Relaxed);
        (peak, sampler.join().unwrap())
    });
    samples.sort_unstable();
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    let records = summary["records_out"].as_u64().unwrap();
    assert_eq!(records, loops * ROWS, "every record reached the chart");
    Run {
        records,
        records_per_s: records as f64 / summary["elapsed_s"].as_f64().unwrap(),
        peak_kib,
        median_kib: samples.get(samples.len() / 2).copied().unwrap_or(0),
    }
}

fn measure(name: &str, over_file_transport: bool) {
    let [small, large] = [1_000_000, 10_000_000].map(|records: u64| run(over_file_transport, records.div_ceil(ROWS)));
    let describe = |r: &Run| {
        format!(
            "{} records: peak {:.1} MB (steady {:.1} MB), {:.0} records/s",
            r.records,
            mb(r.peak_kib),
            mb(r.median_kib),
            r.records_per_s
        )
    };
    println!(
        "memory {name:<8} {} | {} | 10M / 1M: peak {:.2}, steady {:.2} (flat = 1.00) | 10M peak under {TARGET_MB:.0} MB: {}",
        describe(&small),
        describe(&large),
        large.peak_kib as f64 / small.peak_kib as f64,
        large.median_kib as f64 / small.median_kib as f64,
        if mb(large.peak_kib) < TARGET_MB { "yes" } else { "NO" },
    );
}

/// The shipped smoker pipeline with a file transport (in `dir`) in place of
/// Kafka: `--set transport.type=file` alone would leave Kafka-only settings.
fn over_file(dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(repo_root().join("pipelines/smoker.toml")).unwrap();
    let mut pipeline: toml::Table = toml::from_str(&text).unwrap();
    let mut transport = toml::Table::new();
    transport.insert("type".into(), "file".into());
    transport.insert("path".into(), dir.join("smoker.jsonl").display().to_string().into());
    pipeline.insert("transport".into(), transport.into());
    let path = dir.join("smoker-file.toml");
    std::fs::write(&path, toml::to_string(&pipeline).unwrap()).unwrap();
    path
}

fn main() {
    measure("kafka", false);
    measure("file", true);
}
