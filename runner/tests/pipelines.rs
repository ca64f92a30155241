//! The shipped pipelines end to end with the real binary and the real
//! plugins: the buzz file app (file transport) and the smoker (Kafka, on the
//! embedded broker each buzz process starts).

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::watched::wait_for;
use common::*;
use serde_json::{Value, json};

#[test]
fn smoker_pipeline_charts_every_reading_and_exactly_the_stalls_in_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_to_end("pipelines/smoker.toml", dir.path(), &["--set", "source.interval_ms=0"]);
    run.assert_success();
    let summary = run.summary();
    for key in
        ["pipeline", "records_in", "records_out", "dead_letter", "reloads_applied", "reloads_refused", "elapsed_s"]
    {
        assert!(summary.get(key).is_some(), "summary lacks {key}: {summary}");
    }
    assert_eq!(summary["pipeline"], "smoker");
    assert_eq!(summary["records_in"], 240);
    assert_eq!(summary["records_out"], 240);
    assert_eq!(summary["dead_letter"], 0);

    let chart = read_json(&dir.path().join("chart.json"));
    assert_eq!(chart["kind"], "line");
    assert_eq!(chart["title"], "Smart Smoker: Temperature vs. Time");
    assert_eq!(chart["series"][0]["points"].as_array().unwrap().len(), 240);
    let expected = expected_stalls(10, 0.2);
    assert!(expected.len() > 40, "the data should hold a long stall, found {}", expected.len());
    assert_eq!(markers(&chart), expected);
    assert!(chart["markers"].as_array().unwrap().iter().all(|m| m["label"] == "Stall Detected"));

    let svg = std::fs::read_to_string(dir.path().join("chart.svg")).unwrap();
    assert_svg(&svg);
    assert!(svg.contains("Smart Smoker: Temperature vs. Time"));
    assert!(svg.contains("Stall Detected"));
    let (width, height, varied) = decode_png(&dir.path().join("chart.png"));
    assert_eq!((width, height), (800, 500));
    assert!(varied, "the PNG is blank");
}

#[test]
fn window_and_threshold_come_from_the_environment_defaults_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let output = buzz()
        .args(["run", "pipelines/smoker.toml", "--set", "source.interval_ms=0", "--exit-when-done"])
        .args(outputs_in(dir.path()))
        .env("SMOKER_ROLLING_WINDOW_SIZE", "30")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let chart = read_json(&dir.path().join("chart.json"));
    assert_eq!(markers(&chart), expected_stalls(30, 0.2));
    assert!(expected_stalls(30, 0.2).len() < expected_stalls(10, 0.2).len());
}

/// Counts per author in a JSON-lines file of buzz messages.
fn author_counts(path: &std::path::Path) -> BTreeMap<String, f64> {
    count_authors(&read_json_lines(path))
}

fn bar_counts(chart: &Value) -> BTreeMap<String, f64> {
    bar_values(chart)
}

#[test]
fn buzz_file_pipeline_counts_every_message_per_author() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_to_end(
        "pipelines/buzz-file.toml",
        dir.path(),
        &["--set", "source.interval_ms=0", "--set", "source.count=500"],
    );
    run.assert_success();
    assert_eq!(run.summary()["records_in"], 500);
    assert_eq!(run.summary()["records_out"], 500);
    let chart = read_json(&dir.path().join("chart.json"));
    assert_eq!(chart["kind"], "bar");
    assert_eq!(chart["title"], "Basic Real-Time Author Message Counts");
    let counts = bar_counts(&chart);
    assert_eq!(counts, author_counts(&dir.path().join("transport.jsonl")));
    assert_eq!(counts.values().sum::<f64>(), 500.0);
    assert!(counts.keys().all(|a| ["Alice", "Bob", "Charlie", "Eve"].contains(&a.as_str())));
    let svg = std::fs::read_to_string(dir.path().join("chart.svg")).unwrap();
    assert_svg(&svg);
    for author in counts.keys() {
        assert!(svg.contains(author.as_str()), "SVG lacks the label {author}");
    }
    assert!(decode_png(&dir.path().join("chart.png")).2);
}

#[test]
fn a_consumer_started_after_the_producer_misses_nothing_and_a_restart_counts_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let produce = |count: &str| {
        buzz()
            .args(["run", "pipelines/buzz-file.toml", "--role", "produce", "--set", "source.interval_ms=0", "--set"])
            .arg(format!("source.count={count}"))
            .args(file_outputs_in(dir.path()))
            .status()
            .unwrap()
    };
    let consume = || run_to_end("pipelines/buzz-file.toml", dir.path(), &["--role", "consume"]);

    assert!(produce("300").success());
    let first = consume();
    first.assert_success();
    assert_eq!(first.summary()["records_in"], 300);
    assert_eq!(first.summary()["records_out"], 300);
    assert_eq!(first.summary()["role"], "consume");
    assert_eq!(
        bar_counts(&read_json(&dir.path().join("chart.json"))),
        author_counts(&dir.path().join("transport.jsonl"))
    );

    // Nothing new: a restarted consumer reads nothing again.
    let again = consume();
    again.assert_success();
    assert_eq!(again.summary()["records_in"], 0);

    // More arrives (the source resumes from its checkpoint: 120 more to
    // make 420 in all): only the new records are read, and the chart
    // continues from its checkpoint.
    assert!(produce("420").success());
    let more = consume();
    more.assert_success();
    assert_eq!(more.summary()["records_in"], 120);
    assert_eq!(more.summary()["records_out"], 120);
    assert_eq!(
        bar_counts(&read_json(&dir.path().join("chart.json"))),
        author_counts(&dir.path().join("transport.jsonl"))
    );
}

#[test]
fn nothing_is_lost_when_records_arrive_far_faster_than_the_chart_draws() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_to_end(
        "pipelines/buzz-file.toml",
        dir.path(),
        &["--set", "source.interval_ms=0", "--set", "source.count=200000", "--set", "chart.fps=1"],
    );
    run.assert_success();
    let summary = run.summary();
    assert_eq!(summary["records_in"], 200000);
    assert_eq!(summary["records_out"], 200000);
    // Frames are bounded by the frame rate, not the record count.
    let frames = summary["frames"].as_u64().unwrap();
    let bound = summary["elapsed_s"].as_f64().unwrap().ceil() as u64 + 2;
    assert!(frames <= bound, "{frames} frames in {}s at 1 fps", summary["elapsed_s"]);
    assert_eq!(bar_counts(&read_json(&dir.path().join("chart.json"))).values().sum::<f64>(), 200000.0);
}

#[test]
fn frames_are_never_drawn_more_often_than_the_data_changes() {
    // 12 records, 150 ms apart, with a frame clock of 60 a second: about
    // 110 ticks of the clock, but only 12 changes to draw.
    let dir = tempfile::tempdir().unwrap();
    let run = run_to_end(
        "pipelines/buzz-file.toml",
        dir.path(),
        &["--set", "source.interval_ms=150", "--set", "source.count=12", "--set", "chart.fps=60"],
    );
    run.assert_success();
    let summary = run.summary();
    assert_eq!(summary["records_out"], 12);
    let frames = summary["frames"].as_u64().unwrap();
    assert!((1..=12).contains(&frames), "{frames} frames for 12 changes in {}s", summary["elapsed_s"]);
}

#[test]
fn interrupting_a_run_stops_it_cleanly_with_final_chart_and_summary() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.json");
    let mut child = buzz()
        .args(["run", "pipelines/buzz-file.toml", "--set", "source.interval_ms=1", "--summary"])
        .arg(&summary)
        .args(file_outputs_in(dir.path()))
        .spawn()
        .unwrap();
    let chart = dir.path().join("chart.json");
    wait_for("a chart while running", Duration::from_secs(20), || chart.exists());
    assert!(std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status after Ctrl-C: {status}");
    let summary = read_json(&summary);
    let produced = summary["produced"].as_u64().unwrap();
    assert!(produced > 0);
    // Everything produced was drained into the chart before exit.
    assert_eq!(summary["records_in"], json!(produced));
    assert_eq!(summary["records_out"], json!(produced));
    assert_eq!(bar_counts(&read_json(&chart)).values().sum::<f64>(), produced as f64);
}

#[test]
fn a_shell_variable_never_sends_a_test_to_another_broker() {
    // As if the developer's shell pointed KAFKA_BROKERS at a cluster (here
    // one that is not there): the tests' buzz still uses the embedded one.
    // SAFETY: this test is its own process (nextest), with no other thread
    // reading the environment yet.
    unsafe { std::env::set_var("KAFKA_BROKERS", "127.0.0.1:1") };
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.json");
    let mut command = buzz();
    command.args(["run", "pipelines/smoker.toml", "--set", "source.interval_ms=0", "--exit-when-done"]);
    command.args(outputs_in(dir.path())).args(["--summary", summary.to_str().unwrap()]);
    let mut run = common::watched::Watched::spawn(command);
    assert!(run.exit_within(Duration::from_secs(60)).success(), "{}", run.text());
    assert_eq!(read_json(&summary)["records_out"], 240);
}

/// When `path` was last written.
fn modified(path: &std::path::Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

#[test]
fn the_png_catches_up_with_the_newest_frame_while_the_pipeline_runs() {
    // 40 records 25 ms apart against a PNG at most every 2 s: every frame
    // after the first comes inside the PNG's interval. The PNG lane draws
    // the newest once the interval is up; it used to stay at the first
    // frame until the run ended.
    let dir = tempfile::tempdir().unwrap();
    let mut command = buzz();
    command.args(["run", "pipelines/buzz-file.toml"]).args(file_outputs_in(dir.path()));
    command.args(["--set", "source.interval_ms=25", "--set", "source.count=40", "--set", "chart.png_interval_ms=2000"]);
    let mut run = common::watched::Watched::spawn(command);
    let chart = dir.path().join("chart.json");
    let total = || {
        std::fs::read(&chart)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .map(|c| bar_counts(&c).values().sum::<f64>())
    };
    wait_for("the chart of all 40 messages", Duration::from_secs(30), || total() == Some(40.0));
    let (svg, png) = (dir.path().join("chart.svg"), dir.path().join("chart.png"));
    let last_frame = modified(&svg).unwrap();
    wait_for("the PNG of the newest frame", Duration::from_secs(5), || modified(&png).unwrap() >= last_frame);
    assert!(run.child.try_wait().unwrap().is_none(), "drawn while running, not at the end of the run");
    assert_eq!(modified(&svg), Some(last_frame), "no frame came after the last record");
    assert!(run.interrupt().success());
}
