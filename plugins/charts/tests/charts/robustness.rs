//! Neither frame nor render may panic, whatever the data.

use buzz_plugin_charts::bar::BarFrame;
use buzz_plugin_charts::line::LineFrame;
use buzz_plugin_charts::{BarChart, LineChart};
use buzz_sdk::testing::TestStage;
use buzz_sdk::{Chart, ImageFormat};
use serde_json::{Value, json};

use crate::{bar_chart, feed, keep, line_chart};

fn both_formats(stage: &TestStage, name: &str) {
    let svg = stage.render(ImageFormat::Svg).unwrap();
    assert!(String::from_utf8(svg.clone()).unwrap().contains("</svg>"));
    keep(&format!("{name}.svg"), &svg);
    let png = stage.render(ImageFormat::Png).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    keep(&format!("{name}.png"), &png);
}

fn bars(name: &str, settings: Value, rows: impl IntoIterator<Item = (String, f64)>) {
    let mut chart = bar_chart(settings).unwrap();
    feed(&mut chart, rows.into_iter().map(|(c, v)| json!({"category": c, "value": v})));
    both_formats(&chart, name);
}

fn line(name: &str, settings: Value, rows: impl IntoIterator<Item = (f64, f64)>) {
    let mut chart = line_chart(settings).unwrap();
    feed(&mut chart, rows.into_iter().map(|(x, y)| json!({"x": x, "value": y, "m": true})));
    both_formats(&chart, name);
}

#[test]
fn odd_bar_data_renders() {
    let labelled = json!({"value_labels": true});
    bars("bar-one", labelled.clone(), [("only".to_string(), 3.0)]);
    bars("bar-zeros", labelled.clone(), (0..5).map(|i| (i.to_string(), 0.0)));
    bars("bar-equal", json!({"colormap": "viridis"}), (0..5).map(|i| (i.to_string(), 7.0)));
    bars("bar-negative", labelled.clone(), [("up".into(), 5.0), ("down".into(), -3.5)]);
    bars("bar-huge", labelled.clone(), [("a".into(), 1e300), ("b".into(), -1e300), ("c".into(), 1e-300)]);
    bars("bar-100", labelled.clone(), (0..100).map(|i| (format!("author-{i}"), (i * i) as f64)));
    bars(
        "bar-long-names",
        labelled,
        (0..8).map(|i| (format!("{i} {}", "a very long category name ".repeat(20)), i as f64)),
    );
    bars("bar-odd-text", json!({"title": "<&>\u{1}\"'"}), [("tab\there\u{7}".into(), 1.0), ("日本語".into(), 2.0)]);
    bars("bar-tiny", json!({"width": 100, "height": 100, "x_label": "x", "y_label": "y"}), [("a".into(), 1.0)]);
    bars("bar-dark", json!({"background": "black", "color": "gold"}), [("a".into(), 1.0)]);
}

#[test]
fn odd_line_data_renders() {
    let settings = json!({"x": "x", "marker_field": "m", "marker_label": "Stall Detected"});
    line("line-one", settings.clone(), [(5.0, 1.0)]);
    line("line-flat", settings.clone(), (0..50).map(|i| (i as f64, 3.0)));
    line("line-vertical", settings.clone(), (0..50).map(|i| (1.0, i as f64)));
    line("line-huge", settings.clone(), [(-1e300, -1e300), (1e300, 1e300), (0.0, 0.0)]);
    line("line-backwards", settings.clone(), (0..50).map(|i| (50.0 - i as f64, i as f64)));
    line("line-tiny", json!({"x": "x", "width": 100, "height": 100, "x_label": "x", "y_label": "y"}), [(1.0, 2.0)]);
    // A single timestamp.
    line("line-instant", settings, [(1.7e12, 1.0)]);
}

#[test]
fn hand_made_frames_with_non_finite_values_do_not_panic() {
    let mut bar = bar_chart(json!({})).unwrap().frame().unwrap();
    bar["series"][0]["categories"] = json!(["a", "b", "c"]);
    bar["series"][0]["values"] = json!([1.0, 2.0]); // one short
    let mut frame: BarFrame = serde_json::from_value(bar).unwrap();
    for f in [ImageFormat::Svg, ImageFormat::Png] {
        BarChart::render(&frame, f).unwrap();
    }
    frame.series[0].values = vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY];
    frame.style.colormap = serde_json::from_value(json!("viridis")).unwrap();
    frame.style.value_labels = true;
    for f in [ImageFormat::Svg, ImageFormat::Png] {
        BarChart::render(&frame, f).unwrap();
    }
    frame.series.clear();
    BarChart::render(&frame, ImageFormat::Svg).unwrap();
    frame.style.color = "nonsense".into();
    assert!(BarChart::render(&frame, ImageFormat::Svg).unwrap_err().contains("nonsense"));
    frame.style.color = "red".into();
    frame.style.width = 1_000_000;
    assert!(BarChart::render(&frame, ImageFormat::Png).is_err());

    let mut stage = line_chart(json!({"x": "$index", "marker_field": "m"})).unwrap();
    feed(&mut stage, [json!({"value": 1, "m": true}), json!({"value": 2})]);
    let mut frame: LineFrame = serde_json::from_value(stage.frame().unwrap()).unwrap();
    frame.series[0].points.extend([[f64::NAN, 1.0], [2.0, f64::INFINITY], [f64::NEG_INFINITY, f64::NAN]]);
    frame.markers[0].y = f64::NAN;
    for f in [ImageFormat::Svg, ImageFormat::Png] {
        LineChart::render(&frame, f).unwrap();
    }
    frame.series.clear();
    frame.markers.clear();
    LineChart::render(&frame, ImageFormat::Png).unwrap();
}

/// True if `svg` has no control characters but the whitespace XML allows.
fn xml_chars_only(svg: &str) -> bool {
    !svg.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

#[test]
fn control_characters_never_reach_the_svg() {
    let mut chart = bar_chart(json!({"title": "a\u{1}b", "x_label": "x\u{7}"})).unwrap();
    feed(&mut chart, [json!({"category": "tab\there\u{1b}", "value": 1})]);
    let svg = String::from_utf8(chart.render(ImageFormat::Svg).unwrap()).unwrap();
    assert!(xml_chars_only(&svg), "XML forbids control characters: {svg}");
    assert!(svg.contains("tab here"));

    let mut chart = line_chart(json!({"x": "$index", "series_name": "s\u{2}", "marker_field": "m",
                                      "marker_label": "stall\u{3}"}))
    .unwrap();
    feed(&mut chart, [json!({"value": 1, "m": true})]);
    let svg = String::from_utf8(chart.render(ImageFormat::Svg).unwrap()).unwrap();
    assert!(xml_chars_only(&svg), "XML forbids control characters: {svg}");
}

#[test]
fn frames_that_are_not_frames_are_errors() {
    assert!(serde_json::from_value::<LineFrame>(json!({"title": "x"})).is_err());
}
