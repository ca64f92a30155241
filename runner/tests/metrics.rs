//! The endpoints for operators: `/metrics` (Prometheus text format),
//! `/health` and `/ready`, scraped from the real binary.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use common::broker::{Tansu, free_port, unique};
use common::browser::http_request;
use common::toml_file::TomlFile;
use common::watched::wait_for;
use common::*;
use serde_json::Value;

/// A scrape: each sample (`name{labels}`) and its value, checked to follow
/// the text format's rules on the way.
fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    let mut types: BTreeMap<&str, &str> = BTreeMap::new();
    let mut helped = Vec::new();
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if let Some(help) = line.strip_prefix("# HELP ") {
            let (name, text) = help.split_once(' ').expect("HELP has a name and a text");
            assert!(!text.is_empty(), "{line}");
            helped.push(name);
        } else if let Some(declared) = line.strip_prefix("# TYPE ") {
            let (name, kind) = declared.split_once(' ').expect("TYPE has a name and a type");
            assert_eq!(helped.last(), Some(&name), "TYPE {name} follows its HELP");
            assert!(["counter", "gauge"].contains(&kind), "{line}");
            assert!(types.insert(name, kind).is_none(), "{name} is declared once");
        } else {
            let (series, value) = line.rsplit_once(' ').expect("a sample is `name{labels} value`");
            let name = series.split('{').next().unwrap();
            assert!(name.starts_with("buzz_"), "{line}");
            let kind = types.get(name).unwrap_or_else(|| panic!("{name} has no TYPE line before it"));
            assert_eq!(*kind == "counter", name.ends_with("_total"), "counters, and only they, end in _total: {line}");
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("{line}: the value is not a number"));
            assert!(samples.insert(series.to_string(), value).is_none(), "{series} appears once");
        }
    }
    samples
}

/// The response head and body of a GET on loopback.
fn get(port: u16, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("a response head");
    (head.to_string(), body.to_string())
}

fn scrape(port: u16) -> BTreeMap<String, f64> {
    let (head, body) = get(port, "/metrics");
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert!(head.to_ascii_lowercase().contains("content-type: text/plain; version=0.0.4"), "{head}");
    parse_metrics(&body)
}

fn stats(port: u16) -> Value {
    let (status, body) = http_request(port, "/api/stats");
    assert!(status.contains(" 200 "), "{status}");
    serde_json::from_str::<Value>(&body).unwrap()[0].clone()
}

/// The value of `series` in a scrape, which must have it.
fn value(metrics: &BTreeMap<String, f64>, series: &str) -> f64 {
    *metrics.get(series).unwrap_or_else(|| panic!("no {series} in {metrics:#?}"))
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path).unwrap().lines().count()
}

#[test]
fn metrics_count_what_the_pipeline_did_and_agree_with_the_stats() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = shipped_copy("pipelines/buzz-file.toml", dir.path(), dir.path());
    // Ten lines that are not JSON wait in the transport file: the consumer
    // reads them before the source's 500 messages, and dead-letters them.
    let transport = dir.path().join("buzz_live.json");
    std::fs::write(&transport, (0..10).map(|i| format!("not json {i}\n")).collect::<String>()).unwrap();
    let mut command = buzz();
    let dead_letters = dir.path().join("buzz-file.dead.jsonl");
    command.arg("run").arg(&pipeline).args(["--set", "source.count=500", "--set", "source.interval_ms=0"]);
    command.args(["--set", &format!("dead_letter.path={}", dead_letters.display())]);
    let (mut run, port) = run_with_dashboard(command);
    wait_for("all records charted", Duration::from_secs(60), || stats(port)["records_out"] == 500);

    // One edit refused (no such transform), then one applied (a new title).
    TomlFile::open(&pipeline).set("transform.type", "count_byy").save(&pipeline);
    wait_for("the refused reload counted", Duration::from_secs(30), || stats(port)["reloads_refused"] == 1);
    let mut metered = TomlFile::open(&pipeline);
    metered.set("transform.type", "count_by").set("chart.title", "Metered Author Message Counts").save(&pipeline);
    wait_for("the applied reload counted", Duration::from_secs(30), || stats(port)["reloads_applied"] == 1);
    let svg = dir.path().join("buzz-file.svg");
    wait_for("the new title drawn", Duration::from_secs(30), || {
        std::fs::read_to_string(&svg).is_ok_and(|svg| svg.contains("Metered"))
    });

    // Once idle, a scrape and the stats say the same.
    let frames = "buzz_frames_drawn_total{pipeline=\"buzz-file\",chart=\"bar_chart\"}";
    let mut agreed = None;
    wait_for("/metrics to agree with /api/stats", Duration::from_secs(30), || {
        let (metrics, stats) = (scrape(port), stats(port));
        let same = value(&metrics, frames) == stats["chart"]["frames_drawn"].as_f64().unwrap()
            && value(&metrics, "buzz_records_in_total{pipeline=\"buzz-file\"}")
                == stats["records_in"].as_f64().unwrap();
        agreed = same.then_some((metrics, stats));
        same
    });
    let (metrics, stats) = agreed.unwrap();
    let at = |series: &str| value(&metrics, &format!("{series}{{pipeline=\"buzz-file\"}}"));
    let lines_in = lines(&transport) as f64;
    assert_eq!(lines_in, 510.0);
    assert_eq!(at("buzz_records_in_total"), lines_in, "records in: every line of the transport file");
    assert_eq!(at("buzz_records_out_total"), 500.0);
    assert_eq!(at("buzz_records_out_total"), stats["records_out"].as_f64().unwrap());
    assert_eq!(at("buzz_dead_letters_total"), 10.0);
    assert_eq!(at("buzz_dead_letters_total"), stats["dead_letter"].as_f64().unwrap());
    assert_eq!(lines(&dead_letters), 10);
    let reloads =
        |result: &str| value(&metrics, &format!("buzz_reloads_total{{pipeline=\"buzz-file\",result=\"{result}\"}}"));
    assert_eq!((reloads("applied"), reloads("refused")), (1.0, 1.0));
    assert_eq!(at("buzz_pipeline_running"), 1.0);
    let state =
        |state: &str| value(&metrics, &format!("buzz_transport_state{{pipeline=\"buzz-file\",state=\"{state}\"}}"));
    assert_eq!((state("connected"), state("waiting"), state("retrying")), (1.0, 0.0, 0.0));
    assert_eq!(at("buzz_transport_lag_bytes"), 0.0, "the consumer has read the whole file");
    assert_eq!(stats["transport"]["lag"], "0 bytes");
    assert!(!metrics.keys().any(|k| k.starts_with("buzz_transport_lag_records")), "a file's lag is in bytes");
    let age = at("buzz_checkpoint_age_seconds");
    assert!((0.0..60.0).contains(&age), "checkpointed while it ran: {age}");
    // Frames: drawn, timed, and one more after the applied reload's redraw.
    let chart = |series: &str| value(&metrics, &format!("{series}{{pipeline=\"buzz-file\",chart=\"bar_chart\"}}"));
    assert!(chart("buzz_frames_drawn_total") >= 2.0);
    let (last, total) = (chart("buzz_last_frame_draw_seconds"), chart("buzz_frame_draw_seconds_total"));
    assert!(last > 0.0 && last <= total && total < 60.0, "draw times: last {last}, total {total}");
    assert_eq!(last, stats["chart"]["last_draw_s"].as_f64().unwrap());
    assert!(run.interrupt().success(), "{}", run.text());
}

#[test]
fn ready_is_503_while_kafka_cannot_be_reached_and_200_once_it_can() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let mut command = buzz();
    command.env("KAFKA_BROKERS", format!("127.0.0.1:{port}"));
    command.args(["run", "pipelines/buzz-kafka.toml", "--set", "source.interval_ms=20"]);
    command.args(["--set", &format!("transport.topic={}", unique("ready"))]).args(outputs_in(dir.path()));
    let (mut run, http) = run_with_dashboard(command);
    assert_eq!(get(http, "/health").1, "ok\n");

    // Nothing listens at the brokers' address: never ready, from the start.
    let until = Instant::now() + Duration::from_secs(6);
    while Instant::now() < until {
        let (head, body) = get(http, "/ready");
        assert!(head.starts_with("HTTP/1.1 503 "), "ready with no broker: {head}\n{body}");
        assert!(body.starts_with("pipeline buzz-kafka is not ready: its transport is "), "{body}");
        assert!(body.contains("transport is waiting: ") || body.contains("transport is retrying: "), "{body}");
        let metrics = scrape(http);
        assert_eq!(value(&metrics, "buzz_transport_state{pipeline=\"buzz-kafka\",state=\"connected\"}"), 0.0);
        assert_eq!(value(&metrics, "buzz_pipeline_running{pipeline=\"buzz-kafka\"}"), 1.0);
        assert_eq!(get(http, "/health").1, "ok\n", "up, though not ready");
        std::thread::sleep(Duration::from_millis(500));
    }

    let _broker = Tansu::start_on(port);
    wait_for("ready once the broker is up", Duration::from_secs(90), || {
        get(http, "/ready").0.starts_with("HTTP/1.1 200 ")
    });
    assert_eq!(get(http, "/ready").1, "ready\n");
    let metrics = scrape(http);
    assert_eq!(value(&metrics, "buzz_transport_state{pipeline=\"buzz-kafka\",state=\"connected\"}"), 1.0);
    assert!(run.interrupt().success(), "{}", run.text());
}

#[test]
fn each_branch_has_its_own_figures_in_the_metrics_the_stats_and_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = refusing_branches(dir.path(), 300);
    let summary = dir.path().join("summary.json");
    let mut command = buzz();
    command.arg("run").arg(&pipeline).arg("--no-reload").arg("--summary").arg(&summary);
    let (mut run, port) = run_with_dashboard(command);

    // Everything read, both refusals noticed, and a scrape that agrees
    // with the stats on every chart's frames (the stats are a second old).
    let mut agreed = None;
    wait_for("every branch's figures, the same in /metrics and /api/stats", Duration::from_secs(60), || {
        let (metrics, stats) = (scrape(port), stats(port));
        let branch = |i: usize| &stats["branches"][i];
        let frames_agree = (0..3).all(|i| {
            let (name, chart) = (branch(i)["name"].as_str().unwrap_or_default(), &branch(i)["chart"]);
            let series = format!(
                "buzz_frames_drawn_total{{pipeline=\"three\",branch=\"{name}\",chart=\"{}\"}}",
                chart["type"].as_str().unwrap_or_default()
            );
            metrics.get(&series).is_some_and(|&n| Some(n) == chart["frames_drawn"].as_f64())
        });
        let done = stats["records_in"] == 300
            && branch(1)["dead_letter"] == 300
            && branch(2)["dead_letter"] == 300
            && branch(1)["refusing"].is_string()
            && branch(2)["refusing"].is_string()
            && frames_agree;
        agreed = done.then_some((metrics, stats));
        done
    });
    let (metrics, stats) = agreed.unwrap();
    let branches = stats["branches"].as_array().unwrap();
    let names: Vec<&str> = branches.iter().map(|b| b["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["authors", "mood", "trend"], "in the file's order");

    // Each branch's own figures, as its chart shows them.
    let figures =
        |b: &Value| (b["records_out"].as_u64().unwrap(), b["dead_letter"].as_u64().unwrap(), b["refusing"].is_string());
    assert_eq!(figures(&branches[0]), (300, 0, false), "authors charts every record");
    assert_eq!(figures(&branches[1]), (0, 300, true), "mood's transform refuses every record");
    assert_eq!(figures(&branches[2]), (300, 300, true), "trend's chart refuses every record");
    let authors = bar_values(&read_json(&dir.path().join("authors.json")));
    assert_eq!(authors.values().sum::<f64>(), 300.0, "{authors:?}");
    let (mood, trend) = (branches[1]["refusing"].as_str().unwrap(), branches[2]["refusing"].as_str().unwrap());
    assert!(mood.contains("transform average_by") && mood.contains("sentimen"), "{mood}");
    assert!(trend.contains("chart line_chart") && trend.contains("sentimen"), "{trend}");
    assert!(!mood.contains("branch ") && !trend.contains("branch "), "a branch's reason is its own: {mood} / {trend}");
    assert!(stats["refusing"].as_str().unwrap().contains(": branch "), "the pipeline's names the branch: {stats}");
    // The pipeline's: records taken by every branch's transform; every
    // refusal a dead letter; its `chart` still the first branch's.
    assert_eq!(
        (stats["records_in"].as_u64(), stats["records_out"].as_u64(), stats["dead_letter"].as_u64()),
        (Some(300), Some(0), Some(600))
    );
    assert_eq!(stats["chart"], branches[0]["chart"]);

    // /metrics: the same figures, each labelled with its branch.
    for (b, name) in branches.iter().zip(&names) {
        let at = |family: &str| value(&metrics, &format!("{family}{{pipeline=\"three\",branch=\"{name}\"}}"));
        assert_eq!(at("buzz_branch_records_out_total"), b["records_out"].as_f64().unwrap(), "{name}");
        assert_eq!(at("buzz_branch_dead_letters_total"), b["dead_letter"].as_f64().unwrap(), "{name}");
        assert_eq!(at("buzz_branch_refusing"), if b["refusing"].is_string() { 1.0 } else { 0.0 }, "{name}");
        let chart = &b["chart"];
        let series = |family: &str| {
            let labels = format!("pipeline=\"three\",branch=\"{name}\",chart=\"{}\"", chart["type"].as_str().unwrap());
            value(&metrics, &format!("{family}{{{labels}}}"))
        };
        assert_eq!(series("buzz_last_frame_draw_seconds"), chart["last_draw_s"].as_f64().unwrap(), "{name}");
        assert_eq!(series("buzz_frame_draw_seconds_total"), chart["draw_s_total"].as_f64().unwrap(), "{name}");
    }
    let unlabelled: Vec<&String> =
        metrics.keys().filter(|k| k.starts_with("buzz_frames_drawn_total{") && !k.contains("branch=")).collect();
    assert!(unlabelled.is_empty(), "a chart of a branch without its label: {unlabelled:?}");
    assert_eq!(value(&metrics, "buzz_records_out_total{pipeline=\"three\"}"), 0.0);
    assert_eq!(value(&metrics, "buzz_refusing{pipeline=\"three\"}"), 1.0);

    // The summary: the same figures, from the same snapshot, and a log
    // line per branch.
    assert!(run.interrupt().success(), "{}", run.text());
    let summary = read_json(&summary);
    for key in ["records_in", "records_out", "dead_letter"] {
        assert_eq!(summary[key], stats[key], "{key}");
    }
    let summed = summary["branches"].as_array().unwrap_or_else(|| panic!("no branches in the summary: {summary}"));
    assert_eq!(summed.len(), 3);
    for (end, live) in summed.iter().zip(branches) {
        for key in ["name", "records_out", "dead_letter", "refusing"] {
            assert_eq!(end[key], live[key], "{key} of {}", live["name"]);
        }
        let frames = |b: &Value| b["chart"]["frames_drawn"].as_u64().unwrap();
        assert!(frames(end) >= frames(live), "{end} / {live}");
    }
    let frames: u64 = summed.iter().map(|b| b["chart"]["frames_drawn"].as_u64().unwrap()).sum();
    assert_eq!(summary["frames"], frames, "the summary's frames are every chart's drawn frames");
    for line in [
        "branch authors: 300 out, 0 dead letters",
        "branch mood: 0 out, 300 dead letters",
        "branch trend: 300 out, 300 dead letters",
    ] {
        assert_eq!(run.count(line), 1, "{line}\n{}", run.text());
    }
}
