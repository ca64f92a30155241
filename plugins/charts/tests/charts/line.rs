use serde_json::{Value, json};

use crate::{feed, keep, line_chart, records, svg as render_svg, svg_texts};

fn points(frame: &Value) -> Vec<(f64, f64)> {
    frame["series"][0]["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
        .collect()
}

#[test]
fn every_point_is_kept_while_under_capacity() {
    let mut chart = line_chart(json!({"x": "t", "y": "temp", "max_points": 100})).unwrap();
    let input: Vec<(f64, f64)> = (0..100).map(|i| (i as f64 * 0.5, ((i * 37) % 11) as f64 - 3.5)).collect();
    feed(&mut chart, input.iter().map(|(t, v)| json!({"t": t, "temp": v})));
    let frame = chart.frame().unwrap();
    assert_eq!(points(&frame), input);
    assert_eq!(frame["total_points"], 100);
    assert_eq!(frame["x_axis"], "number");
    assert_eq!(frame["kind"], "line");
    assert_eq!(frame["series"][0]["name"], "value");
    assert_eq!(frame["markers"], json!([]));
    assert_eq!(frame["style"]["line_color"], "#1f77b4");
    assert_eq!(frame["style"]["marker_color"], "#ff0000");
}

#[test]
fn a_long_run_stays_bounded_and_keeps_its_envelope() {
    let mut chart = line_chart(json!({"x": "$index", "max_points": 500})).unwrap();
    let n = 100_000;
    let value = |i: usize| match i {
        31_337 => 500.0,
        77_777 => -400.0,
        _ => (i % 50) as f64,
    };
    for start in (0..n).step_by(10_000) {
        feed(&mut chart, (start..start + 10_000).map(|i| json!({"value": value(i)})));
    }
    let frame = chart.frame().unwrap();
    assert_eq!(frame["total_points"], n);
    assert_eq!(frame["x_axis"], "index");
    let points = points(&frame);
    // At most 4 summary points per bucket, at most 500 buckets.
    assert!(points.len() <= 2000, "{} points", points.len());
    assert!(points.len() > 500, "{} points", points.len());
    assert!(points.windows(2).all(|w| w[0].0 <= w[1].0), "x order");
    assert!(points.contains(&(31_337.0, 500.0)), "the spike survives");
    assert!(points.contains(&(77_777.0, -400.0)), "the dip survives");
    assert_eq!(points.first(), Some(&(0.0, 0.0)));
    assert_eq!(points.last(), Some(&((n - 1) as f64, 49.0)));
    let (lo, hi) = points.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
    assert_eq!((lo, hi), (-400.0, 500.0));
    // The envelope of ordinary stretches is kept too: both 0 and 49 appear
    // throughout, not just at the ends.
    let middle: Vec<f64> = points.iter().filter(|p| (40_000.0..60_000.0).contains(&p.0)).map(|p| p.1).collect();
    assert!(middle.contains(&0.0) && middle.contains(&49.0));

    let svg = render_svg(&chart);
    keep("line-long.svg", svg.as_bytes());
}

#[test]
fn markers_are_exactly_where_the_field_is_true() {
    let settings = json!({"x": "$index", "y": "temp", "marker_field": "stall",
                          "marker_label": "Stall Detected", "series_name": "Smoker temp",
                          "title": "Smoker"});
    let mut chart = line_chart(settings).unwrap();
    let stalled = |i: usize| (20..25).contains(&i) || (60..62).contains(&i) || i == 90;
    feed(
        &mut chart,
        (0..100).map(|i| {
            let mut r = json!({"temp": 150.0 + i as f64, "stall": stalled(i)});
            if i % 7 == 0 {
                r.as_object_mut().unwrap().remove("stall");
            }
            r
        }),
    );
    let frame = chart.frame().unwrap();
    let markers = frame["markers"].as_array().unwrap();
    let xs: Vec<f64> = markers.iter().map(|m| m["x"].as_f64().unwrap()).collect();
    let expected: Vec<f64> = (0..100).filter(|&i| stalled(i) && i % 7 != 0).map(|i| i as f64).collect();
    assert_eq!(xs, expected);
    for m in markers {
        assert_eq!(m["y"].as_f64().unwrap(), 150.0 + m["x"].as_f64().unwrap());
        assert_eq!(m["label"], "Stall Detected");
    }
    let starts: Vec<f64> =
        markers.iter().filter(|m| m["run_start"] == true).map(|m| m["x"].as_f64().unwrap()).collect();
    // 22 starts a run of its own: 21 (a multiple of 7) has no flag.
    assert_eq!(starts, vec![20.0, 22.0, 60.0, 90.0]);

    let svg = render_svg(&chart);
    keep("line-markers.svg", svg.as_bytes());
    let texts = svg_texts(&svg);
    assert!(texts.contains(&"Smoker"), "title");
    assert!(texts.contains(&"Smoker temp"), "legend names the line");
    // A label per run where there is room, plus the legend entry.
    let labels = texts.iter().filter(|t| **t == "Stall Detected").count();
    assert!((3..=4).contains(&labels), "{labels} Stall Detected texts");
    // Runs of two or more (22-24, 60-61) are shaded spans, the line drawn
    // over them; the lone ones (20, 90) are dots. The legend shows a span.
    let red = |shape: &str| svg.lines().filter(|l| l.starts_with(shape) && l.contains("fill=\"#FF0000\"")).count();
    assert_eq!(red("<circle"), 2, "a dot per lone marker");
    assert_eq!(red("<rect"), 2 + 1, "a span per run, plus the legend's");
    let first_span = svg.find("<rect").unwrap();
    let line = svg.find("<polyline").unwrap();
    assert!(first_span < line, "the spans are under the line");
}

#[test]
fn close_runs_do_not_stack_labels() {
    let mut chart = line_chart(json!({"x": "$index", "marker_field": "m", "marker_label": "Stall Detected"})).unwrap();
    // 100 one-record runs two records apart: far too close for 100 labels.
    feed(&mut chart, (0..200).map(|i| json!({"value": 1, "m": i % 2 == 0})));
    let svg = render_svg(&chart);
    keep("line-crowded.svg", svg.as_bytes());
    let labels = svg_texts(&svg).iter().filter(|t| **t == "Stall Detected").count();
    assert!((2..=12).contains(&labels), "{labels} labels");
}

#[test]
fn lone_markers_sharing_a_pixel_are_drawn_once_and_none_is_lost() {
    let mut chart = line_chart(json!({"x": "$index", "marker_field": "m"})).unwrap();
    // 1,000 one-record runs on a plot some 700 pixels wide.
    let n = 2_000;
    feed(&mut chart, (0..n).map(|i| json!({"value": 1, "m": i % 2 == 0})));
    assert_eq!(chart.frame().unwrap()["markers"].as_array().unwrap().len(), n / 2);
    let svg = render_svg(&chart);
    let centres: Vec<(i64, i64)> = svg
        .lines()
        .filter(|l| l.starts_with("<circle") && l.contains("fill=\"#FF0000\""))
        .map(|l| (attribute(l, "cx"), attribute(l, "cy")))
        .collect();
    let distinct: std::collections::BTreeSet<_> = centres.iter().collect();
    assert_eq!(distinct.len(), centres.len(), "no dot drawn twice on one pixel");
    // Every pixel column from the first dot to the last has one: none lost
    // (the legend's dot sits apart, below the plot's row of dots).
    let row = centres[0].1;
    let columns: Vec<i64> = centres.iter().filter(|c| c.1 == row).map(|c| c.0).collect();
    assert!(columns.len() > 500 && columns.len() < n / 2, "{} dots", columns.len());
    assert!(columns.windows(2).all(|w| w[1] - w[0] <= 2), "a dot every pixel or two: {columns:?}");
}

/// The whole-number value of `name="..."` in an SVG tag.
fn attribute(tag: &str, name: &str) -> i64 {
    let start = tag.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
    tag[start..].split('"').next().unwrap().parse().unwrap()
}

#[test]
fn markers_stay_bounded_when_everything_is_marked() {
    let mut chart = line_chart(json!({"x": "$index", "marker_field": "m", "max_points": 16})).unwrap();
    feed(&mut chart, (0..10_000).map(|i| json!({"value": i, "m": true})));
    let frame = chart.frame().unwrap();
    let markers = frame["markers"].as_array().unwrap();
    assert!(!markers.is_empty() && markers.len() <= 16, "{} markers", markers.len());
    // One long run: labelled once, at its start.
    assert_eq!(markers[0]["x"], 0.0);
    assert_eq!(markers.iter().filter(|m| m["run_start"] == true).count(), 1);
}

#[test]
fn timestamps_in_each_format_become_epoch_seconds() {
    let mut chart = line_chart(json!({})).unwrap();
    feed(
        &mut chart,
        [
            json!({"timestamp": "2024-03-01T10:00:00Z", "value": 1}),
            json!({"timestamp": "2024-03-01T11:00:01+01:00", "value": 2}),
            json!({"timestamp": "2024-03-01 10:00:02", "value": 3}),
            json!({"timestamp": "2024-03-01T10:00:03", "value": 4}),
            json!({"timestamp": "2024-03-01T10:00:04.500Z", "value": 5}),
            json!({"timestamp": 1_709_287_205_000i64, "value": "6"}),
        ],
    );
    let frame = chart.frame().unwrap();
    assert_eq!(frame["x_axis"], "time");
    let t0 = 1_709_287_200.0; // 2024-03-01T10:00:00Z
    assert_eq!(
        points(&frame),
        vec![(t0, 1.0), (t0 + 1.0, 2.0), (t0 + 2.0, 3.0), (t0 + 3.0, 4.0), (t0 + 4.5, 5.0), (t0 + 5.0, 6.0)]
    );
    let svg = render_svg(&chart);
    keep("line-time.svg", svg.as_bytes());
    let texts = svg_texts(&svg);
    assert!(texts.contains(&"10:00:02"), "seconds shown on a short time axis: {texts:?}");
}

#[test]
fn time_axes_show_clock_times_or_dates() {
    let mut chart = line_chart(json!({"x": "ts"})).unwrap();
    let t0 = 1_709_287_200i64; // 2024-03-01T10:00:00Z
    feed(&mut chart, (0..=120).map(|m| json!({"ts": (t0 + m * 60) * 1000, "value": m})));
    let svg = render_svg(&chart);
    keep("line-hours.svg", svg.as_bytes());
    let texts = svg_texts(&svg);
    assert!(texts.contains(&"10:30") && texts.contains(&"11:00"), "HH:MM ticks: {texts:?}");

    let mut chart = line_chart(json!({"x": "ts"})).unwrap();
    feed(&mut chart, (0..=10).map(|d| json!({"ts": (t0 + d * 86_400) * 1000, "value": d})));
    let svg = render_svg(&chart);
    keep("line-days.svg", svg.as_bytes());
    let texts = svg_texts(&svg);
    assert!(texts.contains(&"03-04 00:00"), "dates on a ten-day axis: {texts:?}");
}

#[test]
fn bad_x_and_y_are_rejected_with_reasons() {
    let mut chart = line_chart(json!({})).unwrap();
    let outcome = chart
        .process(&records([
            json!({"timestamp": "soon", "value": 1}),
            json!({"timestamp": "2024-03-01T10:00:00Z", "value": "hot"}),
            json!({"value": 1}),
            json!({"timestamp": "2024-03-01T10:00:00Z"}),
            json!({"timestamp": true, "value": 1}),
            json!({"timestamp": "2024-03-01T10:00:00Z", "value": "NaN"}),
            json!({"timestamp": "2024-03-01T10:00:00Z", "value": 1}),
        ]))
        .unwrap();
    let reasons: Vec<&str> = outcome.rejects.iter().map(|r| r.reason.as_str()).collect();
    assert_eq!(reasons.len(), 6, "{reasons:?}");
    assert!(reasons[0].contains("\"timestamp\" is \"soon\", which is not a timestamp"), "{}", reasons[0]);
    assert_eq!(reasons[1], "\"value\" is a string, not a number");
    assert_eq!(reasons[2], "record has no \"timestamp\" field");
    assert_eq!(reasons[3], "record has no \"value\" field");
    assert_eq!(reasons[4], "\"timestamp\" is a boolean, not a timestamp or a number");
    assert_eq!(reasons[5], "\"value\" is not a finite number");
    // Rejected records leave no trace.
    assert_eq!(chart.frame().unwrap()["total_points"], 1);
}

#[test]
fn index_x_counts_accepted_records() {
    let mut chart = line_chart(json!({"x": "$index"})).unwrap();
    let outcome = chart.process(&records([json!({"value": 5}), json!({"value": "x"}), json!({"value": 7})])).unwrap();
    assert_eq!(outcome.rejects.len(), 1);
    assert_eq!(points(&chart.frame().unwrap()), vec![(0.0, 5.0), (1.0, 7.0)]);
}

#[test]
fn state_round_trips() {
    let settings = json!({"x": "$index", "marker_field": "m", "max_points": 64});
    let mut chart = line_chart(settings.clone()).unwrap();
    feed(&mut chart, (0..1000).map(|i| json!({"value": (i % 13) as f64, "m": i % 100 == 0})));
    let before = chart.frame().unwrap();
    let state = chart.save_state().unwrap();

    let mut copy = line_chart(settings).unwrap();
    copy.restore_state(state.clone()).unwrap();
    assert_eq!(copy.frame().unwrap(), before);
    // Ingesting goes on where it left off.
    feed(&mut copy, [json!({"value": 1})]);
    assert_eq!(copy.frame().unwrap()["total_points"], 1001);
    assert_eq!(points(&copy.frame().unwrap()).last(), Some(&(1000.0, 1.0)));

    // A restyle with fewer points shrinks the restored line to fit.
    let mut smaller = line_chart(json!({"x": "$index", "marker_field": "m", "max_points": 16})).unwrap();
    smaller.restore_state(state).unwrap();
    let frame = smaller.frame().unwrap();
    assert_eq!(frame["total_points"], 1000);
    assert!(points(&frame).len() <= 64);
    assert!(frame["markers"].as_array().unwrap().len() <= 16);

    assert!(smaller.restore_state(json!({"line": 1})).is_err());
}

/// Ten million records through the stage: memory stays flat. It reads the
/// peak memory of its process, which nextest gives to this test alone (the
/// other chart tests are small enough not to matter under `cargo test`).
#[test]
fn ten_million_records_stay_far_under_100_mb() {
    let mut chart = line_chart(json!({"marker_field": "stall"})).unwrap();
    let start = 1_700_000_000_000i64;
    for batch in 0..100 {
        let first = batch * 100_000;
        feed(
            &mut chart,
            (first..first + 100_000)
                .map(|i| json!({"timestamp": start + i, "value": (i % 1000) as f64, "stall": i % 10_000 < 50})),
        );
    }
    let frame = chart.frame().unwrap();
    assert_eq!(frame["total_points"], 10_000_000);
    assert!(points(&frame).len() <= 4 * 2000);
    assert!(frame["markers"].as_array().unwrap().len() <= 2000);
    let state = serde_json::to_vec(&chart.save_state().unwrap()).unwrap();
    assert!(state.len() < 1_000_000, "state is {} bytes", state.len());
    // Peak resident memory of this whole test process (Linux).
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        let peak_kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        println!("peak RSS {} MB, state {} bytes", peak_kb / 1024, state.len());
        assert!(peak_kb < 100 * 1024, "peak RSS {peak_kb} kB");
    }
}

#[test]
fn merged_partial_lines_are_the_union_of_their_points_by_x() {
    let settings = json!({"x": "t", "marker_field": "m", "max_points": 100});
    let reading = |t: u32| json!({"t": t, "value": t * 10, "m": t % 5 == 3});
    let mut one = line_chart(settings.clone()).unwrap();
    feed(&mut one, (0..40).map(reading));
    // Two partitions: the even and the odd times.
    let mut a = line_chart(settings.clone()).unwrap();
    feed(&mut a, (0..40).filter(|t| t % 2 == 0).map(reading));
    let mut b = line_chart(settings).unwrap();
    feed(&mut b, (0..40).filter(|t| t % 2 == 1).map(reading));
    a.merge_state(b.save_state().unwrap()).unwrap();

    let (merged, whole) = (a.frame().unwrap(), one.frame().unwrap());
    assert_eq!(points(&merged), points(&whole));
    assert_eq!(merged["total_points"], 40);
    // Markers from both sides (3, 13, ... odd; 8, 18, ... even), each its own run.
    assert_eq!(merged["markers"], whole["markers"]);
    let xs: Vec<f64> = merged["markers"].as_array().unwrap().iter().map(|m| m["x"].as_f64().unwrap()).collect();
    assert_eq!(xs, [3.0, 8.0, 13.0, 18.0, 23.0, 28.0, 33.0, 38.0]);
    // Ingesting goes on after the merge.
    feed(&mut a, [reading(40)]);
    assert_eq!(a.frame().unwrap()["total_points"], 41);
    assert_eq!(points(&a.frame().unwrap()).last(), Some(&(40.0, 400.0)));
}

#[test]
fn merged_lines_stay_bounded_and_keep_both_spikes() {
    let settings = json!({"x": "t", "marker_field": "m", "max_points": 16});
    let mut a = line_chart(settings.clone()).unwrap();
    feed(&mut a, (0..5000).map(|t| json!({"t": 2 * t, "value": if t == 1000 { 99 } else { 0 }, "m": true})));
    let mut b = line_chart(settings).unwrap();
    feed(&mut b, (0..5000).map(|t| json!({"t": 2 * t + 1, "value": if t == 4000 { -99 } else { 1 }, "m": true})));
    a.merge_state(b.save_state().unwrap()).unwrap();
    let frame = a.frame().unwrap();
    assert_eq!(frame["total_points"], 10_000);
    let line = points(&frame);
    assert!(line.len() <= 4 * 16, "{} points", line.len());
    assert!(line.contains(&(2000.0, 99.0)) && line.contains(&(8001.0, -99.0)));
    assert!(line.is_sorted_by(|p, q| p.0 <= q.0));
    assert!(frame["markers"].as_array().unwrap().len() <= 16);
}

#[test]
fn merged_index_lines_number_the_other_records_after_these() {
    let mut a = line_chart(json!({"x": "$index", "marker_field": "m"})).unwrap();
    feed(&mut a, [json!({"value": 1}), json!({"value": 2})]);
    let mut b = line_chart(json!({"x": "$index", "marker_field": "m"})).unwrap();
    feed(&mut b, [json!({"value": 3, "m": true}), json!({"value": 4})]);
    a.merge_state(b.save_state().unwrap()).unwrap();
    feed(&mut a, [json!({"value": 5})]);
    let frame = a.frame().unwrap();
    assert_eq!(points(&frame), vec![(0.0, 1.0), (1.0, 2.0), (2.0, 3.0), (3.0, 4.0), (4.0, 5.0)]);
    assert_eq!(frame["markers"][0]["x"], 2.0);

    let before = a.save_state();
    assert!(a.merge_state(json!({"line": 1})).unwrap_err().starts_with("invalid line chart state to merge"));
    assert_eq!(a.save_state(), before, "a refused merge changes nothing");
}

#[test]
fn the_legend_lists_the_markers_only_when_some_are_drawn() {
    let settings = json!({"x": "$index", "marker_field": "m", "marker_label": "Stall Detected", "series_name": "Temp"});
    let mut chart = line_chart(settings.clone()).unwrap();
    feed(&mut chart, (0..50).map(|i| json!({"value": i, "m": false})));
    let svg = render_svg(&chart);
    let texts = svg_texts(&svg);
    assert!(texts.contains(&"Temp"), "{texts:?}");
    assert!(!texts.contains(&"Stall Detected"), "a legend entry for markers that are not there: {texts:?}");

    let mut marked = line_chart(settings).unwrap();
    feed(&mut marked, (0..50).map(|i| json!({"value": i, "m": i == 25})));
    assert!(svg_texts(&render_svg(&marked)).contains(&"Stall Detected"));
}

#[test]
fn an_empty_chart_says_it_is_waiting_for_data() {
    let mut chart = line_chart(json!({"x": "$index", "title": "Nothing yet"})).unwrap();
    let empty = render_svg(&chart);
    assert!(svg_texts(&empty).contains(&"waiting for data"), "{:?}", svg_texts(&empty));
    feed(&mut chart, (0..3).map(|i| json!({"value": i})));
    assert!(!svg_texts(&render_svg(&chart)).contains(&"waiting for data"));
}

#[test]
fn y_min_and_y_max_fix_the_axis() {
    // x from 100 to 300, so the only ticks near 0..1 are y's.
    let values = [(100, 0.42), (200, 0.47), (300, 0.55)];
    let texts_with = |settings: Value| {
        let mut chart = line_chart(settings).unwrap();
        feed(&mut chart, values.iter().map(|(t, v)| json!({"t": t, "value": v})));
        render_svg(&chart)
    };
    // From the data: ticks only between about 0.41 and 0.56.
    let auto = texts_with(json!({"x": "t"}));
    assert!(!svg_texts(&auto).contains(&"1.0") && svg_texts(&auto).contains(&"0.48"), "{:?}", svg_texts(&auto));
    // Fixed: the whole 0..1 scale of a sentiment.
    let fixed = texts_with(json!({"x": "t", "y_min": 0, "y_max": 1}));
    let texts = svg_texts(&fixed);
    assert!(texts.contains(&"0.0") && texts.contains(&"1.0") && !texts.contains(&"0.48"), "{texts:?}");

    let refused = line_chart(json!({"x": "t", "y_min": 1, "y_max": 1})).err().expect("refused");
    assert!(refused.to_string().contains("y_max"), "{refused}");
}

#[test]
fn series_splits_the_line_per_value_each_in_its_colour_and_named_in_the_legend() {
    let mut chart = line_chart(json!({"x": "t", "y": "v", "series": "category"})).unwrap();
    let input = [("tech", 0.5), ("food", 0.25), ("tech", 0.75), ("food", 0.5), ("travel", 1.0)];
    feed(&mut chart, input.iter().enumerate().map(|(t, (c, v))| json!({"t": t, "v": v, "category": c})));
    let frame = chart.frame().unwrap();
    let lines: Vec<(&str, usize)> = frame["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["points"].as_array().unwrap().len()))
        .collect();
    assert_eq!(lines, [("food", 2), ("tech", 2), ("travel", 1)], "one line per value, in name order");
    assert_eq!(frame["series"][1]["points"], json!([[0.0, 0.5], [2.0, 0.75]]));
    assert_eq!(frame["total_points"], 5);
    let svg = render_svg(&chart);
    let texts = svg_texts(&svg);
    for name in ["food", "tech", "travel"] {
        assert!(texts.contains(&name), "the legend names {name}: {texts:?}");
    }
    // Each line in its own colour (the first three of the palette).
    for colour in ["#4E79A7", "#F28E2B", "#E15759"] {
        assert!(svg.to_uppercase().contains(&format!("STROKE=\"{colour}\"")), "no line in {colour}");
    }
}

#[test]
fn series_past_max_series_are_refused_and_the_state_round_trips() {
    let settings = json!({"x": "$index", "series": "c", "max_series": 2});
    let mut chart = line_chart(settings.clone()).unwrap();
    let out = chart.process(&records((0..6).map(|i| json!({"value": i, "c": (["a", "b", "c"][i % 3])})))).unwrap();
    assert_eq!(out.rejects.len(), 2, "the third series' records");
    assert!(out.rejects[0].reason.contains("max_series (2)"), "{}", out.rejects[0].reason);
    let mut restored = line_chart(settings).unwrap();
    restored.restore_state(chart.save_state().unwrap()).unwrap();
    assert_eq!(restored.frame().unwrap(), chart.frame().unwrap());
    assert_eq!(restored.frame().unwrap()["series"].as_array().unwrap().len(), 2);
}
