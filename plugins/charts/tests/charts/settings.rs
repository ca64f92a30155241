use serde_json::json;

use crate::{bar_chart, line_chart};

#[test]
fn unknown_settings_are_rejected() {
    let err = bar_chart(json!({"colour": "red"})).err().unwrap();
    assert!(err.message.contains("unknown field `colour`"), "{err}");
    let err = line_chart(json!({"max_point": 100})).err().unwrap();
    assert!(err.message.contains("unknown field `max_point`"), "{err}");
}

#[test]
fn bad_values_name_their_setting() {
    let cases = [
        (bar_chart(json!({"color": "blurple"})), "color"),
        (bar_chart(json!({"background": "#12345"})), "background"),
        (bar_chart(json!({"colormap": "jet"})), "colormap"),
        (bar_chart(json!({"sort": "size"})), "sort"),
        (bar_chart(json!({"top": 0})), "top"),
        (bar_chart(json!({"width": 10})), "width"),
        (bar_chart(json!({"height": 100000})), "height"),
        (bar_chart(json!({"value_decimals": 11})), "value_decimals"),
        (bar_chart(json!({"category": ""})), "category"),
        (line_chart(json!({"line_color": "#xyzxyz"})), "line_color"),
        (line_chart(json!({"marker_color": "reddish"})), "marker_color"),
        (line_chart(json!({"max_points": 15})), "max_points"),
        (line_chart(json!({"y": ""})), "y"),
    ];
    for (result, setting) in cases {
        let err = result.err().unwrap_or_else(|| panic!("{setting} should be refused"));
        assert_eq!(err.setting.as_deref(), Some(setting), "{err}");
        assert!(!err.message.is_empty());
    }
    let err = bar_chart(json!({"color": "blurple"})).err().unwrap();
    assert!(err.message.contains("blurple") && err.message.contains("#rrggbb"), "{err}");
}

#[test]
fn colours_accept_hex_and_names() {
    for c in ["#1f77b4", "#F00", "steelblue", "Red"] {
        assert!(bar_chart(json!({"color": c})).is_ok(), "{c}");
    }
    let chart = line_chart(json!({"line_color": "#F00", "marker_color": "navy"})).unwrap();
    let style = &chart.frame().unwrap()["style"];
    assert_eq!(style["line_color"], "#ff0000");
    assert_eq!(style["marker_color"], "#000080");
}

#[test]
fn schemas_document_defaults() {
    let schema = bar_chart(json!({})).unwrap().settings_schema();
    let props = &schema["properties"];
    assert_eq!(props["title"]["default"], "Counts");
    assert_eq!(props["width"]["default"], 800);
    assert_eq!((&props["width"]["minimum"], &props["width"]["maximum"]), (&json!(100), &json!(4096)));
    assert_eq!(props["colormap"]["default"], "none");
    assert_eq!(
        props["colormap"]["enum"],
        json!(["none", "viridis", "blackwhite", "bone", "copper", "mandelbrot", "vulcano"])
    );
    assert_eq!(props["sort"]["enum"], json!(["none", "value", "category"]));
    assert!(props["value_labels"]["description"].as_str().unwrap().contains("value"));
    assert_eq!(schema["additionalProperties"], false);

    let schema = line_chart(json!({})).unwrap().settings_schema();
    let props = &schema["properties"];
    assert_eq!(props["x"]["default"], "timestamp");
    assert_eq!(props["max_points"]["default"], 2000);
    assert_eq!(props["marker_color"]["default"], "red");
    assert_eq!(props["marker_label"]["default"], "Marker");
    assert!(props["x"]["description"].as_str().unwrap().contains("$index"));
}
