//! Bounded memory on untrusted data: distinct categories beyond a bound,
//! a line with no end, and a producer faster than its consumer each keep
//! buzz's memory (and its outputs) bounded.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use common::browser::http_get;
use common::watched::{Watched, wait_for};
use common::*;
use serde_json::Value;

/// The process's peak resident memory so far, in KiB (VmHWM).
fn peak_rss_kib(child: &Child) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Waits for `child` to exit; its peak resident memory in KiB, read while it ran.
fn wait_with_peak_rss(child: &mut Child) -> (std::process::ExitStatus, u64) {
    let mut peak = 0;
    loop {
        if let Some(kib) = peak_rss_kib(child) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            return (status, peak);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn buzz_file_consumer(dir: &Path, transport: &Path) -> std::process::Command {
    let mut command = buzz();
    command
        .args(["run", "pipelines/buzz-file.toml", "--role", "consume"])
        .args(outputs_in(dir))
        .args(["--set", &format!("transport.path={}", transport.display())]);
    command
}

#[test]
fn twenty_thousand_distinct_authors_make_a_thousand_bars_and_other_with_a_warning_on_the_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let transport = dir.path().join("buzz.jsonl");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&transport).unwrap());
    for i in 0..20_000 {
        writeln!(file, r#"{{"message": "hello", "author": "author-{i}"}}"#).unwrap();
    }
    file.flush().unwrap();
    drop(file);
    let (run, port) = run_with_dashboard(buzz_file_consumer(dir.path(), &transport));
    wait_for("every record", Duration::from_secs(60), || {
        serde_json::from_str::<Value>(&http_get(port, "/api/stats")).unwrap()[0]["records_out"] == 20_000
    });
    let chart = dir.path().join("chart.json");
    let bars = || read_json(&chart)["series"][0].clone();
    wait_for("the chart of every record", Duration::from_secs(30), || {
        chart.exists()
            && bars()["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).sum::<f64>() == 20_000.0
    });
    let bars = bars();
    let categories = bars["categories"].as_array().unwrap();
    assert_eq!(categories.len(), 1001, "1,000 authors and other");
    assert_eq!(
        (&categories[0], &categories[999], &categories[1000]),
        (&"author-0".into(), &"author-999".into(), &"other".into())
    );
    assert_eq!(bars["values"][1000], 19_000.0);
    let svg = std::fs::metadata(dir.path().join("chart.svg")).unwrap().len();
    eprintln!("SVG {svg} bytes");
    assert!(svg < 2_000_000, "the SVG is {svg} bytes");
    let mut stats = Value::Null;
    wait_for("the warning on the dashboard", Duration::from_secs(60), || {
        stats = serde_json::from_str::<Value>(&http_get(port, "/api/stats")).unwrap()[0].clone();
        stats["stage_warning"].is_string()
    });
    let warning = stats["stage_warning"].as_str().unwrap();
    assert!(warning.contains(r#"more than 1000 count_by groups of "author""#), "{warning}");
    assert!(warning.contains(r#"folded into "other""#), "{warning}");
    assert_eq!(run.count("folded into"), 1, "warned once");
}

#[test]
fn a_line_of_128_mib_with_no_newline_is_skipped_in_bounded_memory_and_its_prefix_dead_lettered() {
    let dir = tempfile::tempdir().unwrap();
    let transport = dir.path().join("buzz.jsonl");
    let long = 128 * 1024 * 1024;
    let mut file = std::io::BufWriter::new(std::fs::File::create(&transport).unwrap());
    writeln!(file, r#"{{"message": "before", "author": "Alice"}}"#).unwrap();
    file.write_all(b"{\"message\": \"").unwrap();
    let chunk = vec![b'x'; 1024 * 1024];
    for _ in 0..long / chunk.len() {
        file.write_all(&chunk).unwrap();
    }
    file.write_all(b"\n{\"message\": \"after\", \"author\": \"Bob\"}\n").unwrap();
    file.flush().unwrap();
    drop(file);
    let summary = dir.path().join("summary.json");
    let mut command = buzz_file_consumer(dir.path(), &transport);
    command.arg("--exit-when-done").arg("--summary").arg(&summary);
    let mut child = command.stderr(std::process::Stdio::null()).spawn().unwrap();
    let (status, peak_kib) = wait_with_peak_rss(&mut child);
    assert!(status.success());
    let summary = read_json(&summary);
    assert_eq!((&summary["records_out"], &summary["dead_letter"]), (&2.into(), &1.into()));
    let dead = read_json_lines(&dir.path().join("dead.jsonl"));
    let length = long + "{\"message\": \"".len();
    assert_eq!(
        dead[0]["reason"],
        format!(
            "line is {length} bytes, more than max_record_bytes (999000); skipped (its first 1024 bytes are kept here)"
        )
    );
    assert_eq!(dead[0]["payload"].as_str().unwrap().len(), 1024);
    assert_eq!(dead[0]["position"]["offset"], 41);
    eprintln!("peak RSS {peak_kib} KiB");
    assert!(peak_kib < 100 * 1024, "peak RSS {peak_kib} KiB for a {long}-byte line");
}

#[test]
fn a_producer_on_a_file_waits_for_a_slow_consumer_in_the_same_process() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    install_fixture("panicky", &plugins, "panicky");
    let transport = dir.path().join("ticks.jsonl");
    let pipeline = dir.path().join("slow.toml");
    // Ticks as fast as they come (about 40 bytes each; 3 million would be
    // 120 MB); a consumer taking 1 ms a record.
    std::fs::write(
        &pipeline,
        format!(
            "name = \"slow\"\nplugins_dir = {plugins:?}\n[source]\ntype = \"ticks\"\nrate_per_s = 10000000\ncount = 3000000\n[transport]\ntype = \"file\"\npath = {transport:?}\n[transform]\ntype = \"panicky\"\nsleep_ms = 1\n[chart]\ntype = \"line_chart\"\nx = \"$index\"\ny = \"seq\"\n"
        ),
    )
    .unwrap();
    let mut command = buzz();
    command.arg("run").arg(&pipeline).args(outputs_in(dir.path()));
    let _run = Watched::spawn(command);
    // The producer stops once it is as far ahead as it may be.
    let size = || std::fs::metadata(&transport).map(|m| m.len()).unwrap_or(0);
    let (mut last, mut since) = (0, Instant::now());
    wait_for("the transport file to stop growing", Duration::from_secs(60), || {
        let now = size();
        if now != last {
            (last, since) = (now, Instant::now());
        }
        now > 0 && since.elapsed() > Duration::from_millis(1500)
    });
    eprintln!("ahead {last} bytes");
    let mib = 1024 * 1024;
    assert!(
        (60 * mib..70 * mib).contains(&last),
        "the producer wrote {last} bytes ahead of a consumer at 1,000 records/s"
    );
}
