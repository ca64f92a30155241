//! The originals side by side: the teaching repository's consumers and buzz
//! on the same data, in messages per second, and the speed-up (buzz ÷
//! original).
//!
//! The originals' per-message logic is re-created in
//! runner/benches/originals/: decode the message, update the state, draw the
//! whole matplotlib chart again (Agg backend). They get their messages from
//! a list, not a broker, and skip the 10 ms `plt.pause` the originals make
//! after each draw: both favour them. Timed over all 240 smoker readings of
//! data/smoker.csv (the line chart slows as it fills) and 300 buzz messages.
//! They run with .tools/venv's Python (scripts/setup-test makes it); this
//! installs matplotlib there when it is missing.
//!
//! buzz runs as the release binary, timed as a whole process (start-up and
//! the final chart files included): the smoker pipeline (embedded Kafka) at
//! interval 0 with the 240 readings replayed until a million (x = record
//! index, as timestamps repeat), and buzz-file with a million messages. A
//! run of the 240 readings once checks that buzz marks the same stalls.
//!
//! Run with `scripts/bench originals`.

#[path = "bench_support.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::Value;
use support::{output_settings, release_buzz, repo_root};

const SMOKER_ROWS: u64 = 240;
const SMOKER_LOOPS: u64 = 4167;
const ORIGINAL_BUZZ_MESSAGES: u64 = 300;
const BUZZ_MESSAGES: u64 = 1_000_000;

/// The venv's Python, with matplotlib.
fn python() -> PathBuf {
    let python = repo_root().join(".tools/venv/bin/python");
    assert!(python.exists(), "{} is missing: run scripts/setup-test", python.display());
    let has_matplotlib = || {
        let check = Command::new(&python).args(["-c", "import matplotlib"]).stderr(Stdio::null()).status();
        check.is_ok_and(|s| s.success())
    };
    if !has_matplotlib() {
        let pip = ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "matplotlib"];
        let installed = Command::new(&python).args(pip).status().is_ok_and(|s| s.success());
        assert!(installed && has_matplotlib(), "cannot install matplotlib into .tools/venv");
    }
    python
}

/// Runs one of the original consumers; returns the JSON line it prints.
fn original(python: &Path, script: &str, args: &[&str]) -> Value {
    let output = Command::new(python)
        .current_dir(repo_root())
        .arg(repo_root().join("runner/benches/originals").join(script))
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "{script}: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

struct BuzzRun {
    records: u64,
    seconds: f64,
    chart: Value,
}

/// Runs `pipeline` to its end with the release buzz, writing into `out`.
fn buzz(pipeline: &str, sets: &[String], out: &Path) -> BuzzRun {
    let summary = out.join("summary.json");
    let mut command = release_buzz();
    command.args(["run", pipeline, "--exit-when-done", "--http", "off", "--no-reload"]);
    for set in sets.iter().chain(&output_settings(out)) {
        command.args(["--set", set]);
    }
    command.arg("--summary").arg(&summary);
    let started = Instant::now();
    let output = command.output().expect("target/release/buzz runs (cargo build --release --workspace)");
    let seconds = started.elapsed().as_secs_f64();
    assert!(output.status.success(), "buzz {pipeline}: {}", String::from_utf8_lossy(&output.stderr));
    let read = |path: PathBuf| -> Value { serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap() };
    let records = read(summary)["records_out"].as_u64().unwrap();
    BuzzRun { records, seconds, chart: read(out.join("chart.json")) }
}

/// Messages per second of an original's run: over all of them and over the last tenth.
fn original_rates(run: &Value) -> (f64, f64, f64) {
    let number = |key: &str| run[key].as_f64().unwrap();
    (number("seconds"), number("messages") / number("seconds"), number("last_messages") / number("last_seconds"))
}

fn smoker(python: &Path) {
    let original = original(python, "smoker_consumer.py", &["data/smoker.csv"]);
    let (seconds, rate, last_rate) = original_rates(&original);
    let once = buzz("pipelines/smoker.toml", &["source.interval_ms=0".into()], tempfile::tempdir().unwrap().path());
    assert_eq!(once.records, SMOKER_ROWS);
    let sets = ["source.interval_ms=0".into(), format!("source.loops={SMOKER_LOOPS}"), "chart.x=$index".into()];
    let many = buzz("pipelines/smoker.toml", &sets, tempfile::tempdir().unwrap().path());
    assert_eq!(many.records, SMOKER_ROWS * SMOKER_LOOPS);
    let buzz_rate = many.records as f64 / many.seconds;
    let once_rate = once.records as f64 / once.seconds;
    println!(
        "originals smoker: original {} readings in {seconds:.1} s = {rate:.2} msg/s (last tenth {last_rate:.2} msg/s), {} stalls | buzz {} readings in {:.2} s = {buzz_rate:.0} msg/s; the same {SMOKER_ROWS} alone in {:.2} s = {once_rate:.0} msg/s, {} stalls | speed-up {:.0} x (the {SMOKER_ROWS} alone: {:.0} x)",
        original["messages"],
        original["stalls"],
        many.records,
        many.seconds,
        once.seconds,
        once.chart["markers"].as_array().map_or(0, Vec::len),
        buzz_rate / rate,
        once_rate / rate,
    );
}

fn buzz_messages(python: &Path) {
    let original = original(python, "buzz_consumer.py", &[&ORIGINAL_BUZZ_MESSAGES.to_string()]);
    let (seconds, rate, _) = original_rates(&original);
    let out = tempfile::tempdir().unwrap();
    let sets = [
        "source.interval_ms=0".into(),
        format!("source.count={BUZZ_MESSAGES}"),
        format!("transport.path={}", out.path().join("buzz.jsonl").display()),
    ];
    let run = buzz("pipelines/buzz-file.toml", &sets, out.path());
    assert_eq!(run.records, BUZZ_MESSAGES);
    let buzz_rate = run.records as f64 / run.seconds;
    println!(
        "originals buzz:   original {} messages in {seconds:.1} s = {rate:.2} msg/s | buzz (buzz-file) {} messages in {:.2} s = {buzz_rate:.0} msg/s | speed-up {:.0} x",
        original["messages"],
        run.records,
        run.seconds,
        buzz_rate / rate,
    );
}

fn main() {
    let python = python();
    smoker(&python);
    buzz_messages(&python);
}
