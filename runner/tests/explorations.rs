//! The explorations the original course suggests, each a pipeline file
//! run end to end by the real binary: messages in batches of 5, only the
//! top 3 authors, a restyled chart, and a new data set with a new kind of
//! chart (the quakes plugin) over Kafka. None needed a runner change.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::broker::{Broker, unique};
use common::watched::wait_for;
use common::*;
use serde_json::Value;

fn sum(counts: &BTreeMap<String, f64>) -> f64 {
    counts.values().sum()
}

/// Runs `pipeline` to the end with `count` records made as fast as they
/// are taken (and `extra` settings), checking that every one reached the
/// chart; returns the summary.
fn every_record(command: Command, pipeline: &str, dir: &Path, count: u64, extra: &[String]) -> Value {
    let mut settings = vec!["source.interval_ms=0".to_string(), format!("source.count={count}")];
    settings.extend_from_slice(extra);
    let args: Vec<&str> = settings.iter().flat_map(|s| ["--set", s.as_str()]).collect();
    let run = run_to_end_with(command, pipeline, dir, &args);
    run.assert_success();
    let summary = run.summary().clone();
    assert_eq!((summary["records_in"].as_u64(), summary["records_out"].as_u64()), (Some(count), Some(count)));
    assert_eq!(summary["dead_letter"], 0);
    summary
}

fn every_message(pipeline: &str, dir: &Path, count: u64) -> Value {
    every_record(buzz(), pipeline, dir, count, &[])
}

#[test]
fn batches_of_five_count_every_message_and_lose_none() {
    let dir = tempfile::tempdir().unwrap();
    // 503 leaves a partial batch of 3 for the end of the input.
    let summary = every_message("pipelines/buzz-batches.toml", dir.path(), 503);
    assert_eq!(summary["configuration"]["transform"]["settings"]["batch_size"], 5);
    let chart = read_json(&dir.path().join("chart.json"));
    assert_eq!(chart["kind"], "bar");
    assert_eq!(chart["title"], "Author Message Counts, Updated Every 5 Messages");
    let counts = bar_values(&chart);
    assert_eq!(counts, count_authors(&read_json_lines(&dir.path().join("transport.jsonl"))));
    assert_eq!(sum(&counts), 503.0);
}

#[test]
fn batches_of_five_hold_back_a_partial_batch_until_the_run_stops() {
    let dir = tempfile::tempdir().unwrap();
    let produced = buzz()
        .args(["run", "pipelines/buzz-batches.toml", "--role", "produce"])
        .args(["--set", "source.interval_ms=0", "--set", "source.count=7"])
        .args(file_outputs_in(dir.path()))
        .status()
        .unwrap();
    assert!(produced.success());

    let mut consumer = buzz();
    consumer.args(["run", "pipelines/buzz-batches.toml", "--role", "consume", "--no-reload"]);
    consumer.args(file_outputs_in(dir.path()));
    let (mut consumer, port) = run_with_dashboard(consumer);
    let chart = dir.path().join("chart.json");
    let shown =
        || std::fs::read(&chart).ok().and_then(|b| serde_json::from_slice(&b).ok()).map(|c| sum(&bar_values(&c)));
    // All 7 read (the dashboard's counts lag the reading by up to a
    // second), and the chart shows only the first batch of 5: the other
    // two messages wait for three more.
    let stats = || -> Value { serde_json::from_str(&common::browser::http_get(port, "/api/stats")).unwrap() };
    wait_for("all 7 messages read", Duration::from_secs(20), || stats()[0]["records_in"] == 7);
    wait_for("the first batch in the chart", Duration::from_secs(20), || shown().is_some());
    assert_eq!(shown(), Some(5.0), "{}", consumer.text());

    assert!(consumer.interrupt().success(), "{}", consumer.text());
    assert_eq!(shown(), Some(7.0), "the partial batch is applied when the run stops");
}

#[test]
fn top_three_shows_exactly_the_three_largest_true_counts() {
    let dir = tempfile::tempdir().unwrap();
    every_message("pipelines/buzz-top3.toml", dir.path(), 3000);

    // The true counts, from the messages as they went through the transport.
    let truth = count_authors(&read_json_lines(&dir.path().join("transport.jsonl")));
    assert_eq!(truth.len(), 8, "every author wrote: {truth:?}");
    let chart = read_json(&dir.path().join("chart.json"));
    let categories: Vec<&str> =
        chart["series"][0]["categories"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    let values: Vec<f64> =
        chart["series"][0]["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(categories.len(), 3, "{categories:?}");
    for (author, value) in categories.iter().zip(&values) {
        assert_eq!(truth[*author], *value, "{author}");
    }
    assert!(values.windows(2).all(|w| w[0] >= w[1]), "largest first: {values:?}");
    let mut largest: Vec<f64> = truth.values().copied().collect();
    largest.sort_by(|a, b| b.total_cmp(a));
    assert_eq!(values, largest[..3], "the three largest counts");
    let hidden = truth.iter().filter(|(a, _)| !categories.contains(&a.as_str()));
    assert!(hidden.clone().all(|(_, &n)| n <= values[2]), "a hidden author counts more than a shown one");

    let svg = std::fs::read_to_string(dir.path().join("chart.svg")).unwrap();
    assert!(categories.iter().all(|a| svg.contains(a)));
    for (author, _) in hidden {
        assert!(!svg.contains(&format!(">{author}<")), "{author} is drawn though not in the top 3");
    }
}

#[test]
fn the_styled_chart_takes_title_colours_and_size_from_the_pipeline_file() {
    let dir = tempfile::tempdir().unwrap();
    every_message("pipelines/buzz-styled.toml", dir.path(), 400);
    let chart = read_json(&dir.path().join("chart.json"));
    assert_eq!(
        [&chart["title"], &chart["x_label"], &chart["y_label"]],
        ["Who Buzzes Most?", "Author", "Messages so far"]
    );
    let style = &chart["style"];
    assert_eq!((style["width"].as_u64(), style["height"].as_u64()), (Some(1000), Some(420)));
    assert_eq!((style["color"].as_str(), style["background"].as_str()), (Some("#e07a5f"), Some("#f4f1de")));
    assert_eq!(style["value_labels"], true);
    let categories = chart["series"][0]["categories"].as_array().unwrap();
    assert!(categories.windows(2).all(|w| w[0].as_str() < w[1].as_str()), "sorted by name: {categories:?}");
    assert_eq!(sum(&bar_values(&chart)), 400.0);

    let svg = std::fs::read_to_string(dir.path().join("chart.svg")).unwrap().to_ascii_lowercase();
    assert!(svg.contains("who buzzes most?") && svg.contains("#e07a5f") && svg.contains("#f4f1de"));
    let (width, height, pixels) = png_pixels(&dir.path().join("chart.png"));
    assert_eq!((width, height), (1000, 420));
    assert_eq!(pixels[0], [0xf4, 0xf1, 0xde], "the corner shows the background");
    let bar_pixels = pixels.iter().filter(|p| **p == [0xe0, 0x7a, 0x5f]).count();
    assert!(bar_pixels > 10_000, "only {bar_pixels} pixels in the bar colour");
}

/// Width, height and RGB pixels of a PNG file.
fn png_pixels(path: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let mut reader = png::Decoder::new(file).read_info().unwrap();
    let mut bytes = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut bytes).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let pixels = bytes[..info.buffer_size()].chunks(3).map(|p| [p[0], p[1], p[2]]).collect();
    (info.width, info.height, pixels)
}

// ---------------------------------------------------------------------------
// A new data set and a new kind of chart: the quakes plugin over Kafka.

/// Runs a quakes pipeline to the end on `broker`, on a topic of its own,
/// with the source archiving every event it makes; returns the chart and
/// the archived events.
fn quakes_run(broker: &Broker, pipeline: &str, dir: &Path, count: u64) -> (Value, Vec<Value>) {
    let archive = dir.join("catalogue.jsonl");
    let topic = unique("quakes");
    let mut command = buzz();
    broker.apply(&mut command);
    let extra = [
        format!("source.archive_path={}", archive.display()),
        format!("transport.topic={topic}"),
        format!("transport.group={topic}-group"),
    ];
    let summary = every_record(command, pipeline, dir, count, &extra);
    for stage in ["source", "transform", "chart"] {
        assert_eq!(summary["configuration"][stage]["plugin"], "quakes", "{stage}");
    }
    let events = read_json_lines(&archive);
    assert_eq!(events.len() as u64, count);
    (read_json(&dir.join("chart.json")), events)
}

/// The pipeline's bins (30 of 0.2 from 2.5 to 8.5, the last holding 8.5)
/// recomputed in whole tenths of magnitude, free of binary rounding:
/// (counts, below, above).
fn magnitude_bins(events: &[Value]) -> (Vec<u64>, u64, u64) {
    let (mut counts, mut below, mut above) = (vec![0u64; 30], 0, 0);
    for event in events {
        let tenths = (event["magnitude"].as_f64().unwrap() * 10.0).round() as i64;
        match tenths {
            t if t < 25 => below += 1,
            t if t > 85 => above += 1,
            85 => counts[29] += 1,
            t => counts[((t - 25) / 2) as usize] += 1,
        }
    }
    (counts, below, above)
}

fn quakes_histogram_over(broker: Broker) {
    let dir = tempfile::tempdir().unwrap();
    let (chart, events) = quakes_run(&broker, "pipelines/quakes.toml", dir.path(), 3000);
    assert_eq!(chart["kind"], "histogram");
    assert_eq!(chart["title"], "Earthquake Magnitudes (Gutenberg–Richter)");
    assert_eq!(chart["total"], 3000);
    let series = &chart["series"][0];
    assert_eq!(series["name"], "magnitude");
    let edges: Vec<f64> = serde_json::from_value(series["edges"].clone()).unwrap();
    assert_eq!((edges.len(), edges[0], edges[1], edges[30]), (31, 2.5, 2.7, 8.5));
    let counts: Vec<u64> = serde_json::from_value(series["counts"].clone()).unwrap();
    let (expected, below, above) = magnitude_bins(&events);
    assert_eq!(counts, expected, "bins recomputed from the catalogue");
    assert_eq!((chart["underflow"].as_u64(), chart["overflow"].as_u64()), (Some(below), Some(above)));
    assert_eq!(counts.iter().sum::<u64>() + below + above, 3000);
    // Gutenberg–Richter: a magnitude unit up, about ten times fewer events.
    let per_unit = |from: usize| counts[from..from + 5].iter().sum::<u64>() as f64;
    assert!((5.0..20.0).contains(&(per_unit(0) / per_unit(5))), "{counts:?}");
    let mean = events.iter().map(|e| e["magnitude"].as_f64().unwrap()).sum::<f64>() / 3000.0;
    assert!((chart["markers"][0]["x"].as_f64().unwrap() - mean).abs() < 1e-9);

    let svg = std::fs::read_to_string(dir.path().join("chart.svg")).unwrap();
    assert_svg(&svg);
    assert!(svg.contains("Earthquake Magnitudes") && svg.contains(&format!("2.5–2.7: {}", counts[0])));
    let (width, height, varied) = decode_png(&dir.path().join("chart.png"));
    assert_eq!((width, height, varied), (800, 500, true));
}

#[test]
fn quakes_histogram_holds_every_event_on_the_embedded_broker() {
    quakes_histogram_over(Broker::Embedded);
}

#[test]
fn quakes_histogram_holds_every_event_on_a_real_broker() {
    quakes_histogram_over(Broker::tansu());
}

#[test]
fn quakes_map_plots_every_epicentre_coloured_by_depth() {
    let dir = tempfile::tempdir().unwrap();
    // Fewer events than the chart keeps, so every one must be there.
    let (chart, events) = quakes_run(&Broker::Embedded, "pipelines/quakes-map.toml", dir.path(), 2500);
    assert_eq!(chart["kind"], "scatter");
    assert_eq!(chart["total"], 2500);
    let series = &chart["series"][0];
    let points = series["points"].as_array().unwrap();
    let depths = series["values"].as_array().unwrap();
    // Partitions interleave events, so compare in a fixed order.
    let key = |lon: f64, lat: f64, depth: f64| format!("{lon:.3} {lat:.3} {depth:.1}");
    let mut shown: Vec<String> = points
        .iter()
        .zip(depths)
        .map(|(p, d)| key(p[0].as_f64().unwrap(), p[1].as_f64().unwrap(), d.as_f64().unwrap()))
        .collect();
    let mut made: Vec<String> = events
        .iter()
        .map(|e| {
            key(e["longitude"].as_f64().unwrap(), e["latitude"].as_f64().unwrap(), e["depth_km"].as_f64().unwrap())
        })
        .collect();
    shown.sort();
    made.sort();
    assert_eq!(shown, made);
    assert_eq!(chart["style"]["color_by"], "depth_km");
    let svg = std::fs::read_to_string(dir.path().join("chart.svg")).unwrap();
    assert_eq!(svg.matches("<circle").count(), 2500);
    assert!(decode_png(&dir.path().join("chart.png")).2);
}
