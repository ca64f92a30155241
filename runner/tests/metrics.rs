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

/// buzz-file with its outputs and transport file in `dir`, as a file there.
fn buzz_file_in(dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(repo_root().join("pipelines/buzz-file.toml"))
        .unwrap()
        .replace("\"out/", &format!("\"{}/", dir.display()));
    let path = dir.join("buzz-file.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path).unwrap().lines().count()
}

#[test]
fn metrics_count_what_the_pipeline_did_and_agree_with_the_stats() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = buzz_file_in(dir.path());
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
    let text = std::fs::read_to_string(&pipeline).unwrap();
    std::fs::write(&pipeline, text.replace("type = \"count_by\"", "type = \"count_byy\"")).unwrap();
    wait_for("the refused reload counted", Duration::from_secs(30), || stats(port)["reloads_refused"] == 1);
    std::fs::write(&pipeline, text.replace("Basic Real-Time", "Metered")).unwrap();
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
