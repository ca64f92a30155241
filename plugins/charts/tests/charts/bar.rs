use buzz_sdk::testing::TestRecord;
use serde_json::json;

use crate::{bar_chart, feed, keep, records, svg as render_svg, svg_texts};

fn authors() -> serde_json::Value {
    json!({"title": "Commits per author", "x_label": "Author", "y_label": "Commits",
           "category": "author", "value": "count"})
}

#[test]
fn frame_holds_the_latest_value_per_category_in_first_seen_order() {
    let mut chart = bar_chart(authors()).unwrap();
    feed(
        &mut chart,
        [
            json!({"author": "Alice", "count": 1}),
            json!({"author": "Bob", "count": 1}),
            json!({"author": "Alice", "count": 2}),
            json!({"author": "Carol", "count": "7"}),
            json!({"author": "Alice", "count": 12, "other": [1, 2]}),
        ],
    );
    let frame = chart.frame().unwrap();
    assert_eq!(frame["title"], "Commits per author");
    assert_eq!(frame["kind"], "bar");
    assert_eq!(frame["x_label"], "Author");
    assert_eq!(frame["y_label"], "Commits");
    assert_eq!(frame["markers"], json!([]));
    assert_eq!(
        frame["series"],
        json!([{"name": "count", "categories": ["Alice", "Bob", "Carol"], "values": [12.0, 1.0, 7.0]}])
    );
    let style = &frame["style"];
    assert_eq!(style["width"], 800);
    assert_eq!(style["height"], 500);
    assert_eq!(style["color"], "#1f77b4");
    assert_eq!(style["background"], "#ffffff");
    assert_eq!(style["colormap"], "none");
    assert_eq!(style["value_labels"], false);
    assert_eq!(style["value_decimals"], 2);
}

#[test]
fn numbers_and_booleans_are_categories_too() {
    let mut chart = bar_chart(json!({})).unwrap();
    feed(
        &mut chart,
        [
            json!({"category": 3, "value": 1}),
            json!({"category": true, "value": 2}),
            json!({"category": 2.5, "value": 3}),
        ],
    );
    assert_eq!(chart.frame().unwrap()["series"][0]["categories"], json!(["3", "true", "2.5"]));
}

fn scores(settings: serde_json::Value) -> serde_json::Value {
    let mut chart = bar_chart(settings).unwrap();
    feed(
        &mut chart,
        [("b", 5), ("D", 1), ("a", 9), ("c", 5), ("e", 3)].map(|(c, v)| json!({"category": c, "value": v})),
    );
    chart.frame().unwrap()["series"][0].clone()
}

#[test]
fn top_and_sort_pick_and_order_the_bars() {
    let s = scores(json!({}));
    assert_eq!(s["categories"], json!(["b", "D", "a", "c", "e"]));
    let s = scores(json!({"sort": "value"}));
    assert_eq!(s["categories"], json!(["a", "b", "c", "e", "D"]));
    assert_eq!(s["values"], json!([9.0, 5.0, 5.0, 3.0, 1.0]));
    let s = scores(json!({"sort": "category"}));
    assert_eq!(s["categories"], json!(["a", "b", "c", "D", "e"]));
    // top keeps first-seen order unless asked to sort; ties go to the first seen.
    let s = scores(json!({"top": 2}));
    assert_eq!(s["categories"], json!(["b", "a"]));
    let s = scores(json!({"top": 3, "sort": "value"}));
    assert_eq!(s["categories"], json!(["a", "b", "c"]));
    let s = scores(json!({"top": 3, "sort": "category"}));
    assert_eq!(s["categories"], json!(["a", "b", "c"]));
    let s = scores(json!({"top": 50}));
    assert_eq!(s["categories"].as_array().unwrap().len(), 5);
}

#[test]
fn bad_records_are_rejected_with_reasons() {
    let mut chart = bar_chart(authors()).unwrap();
    let input = records([
        json!({"count": 1}),
        json!({"author": "Alice"}),
        json!({"author": "Alice", "count": "many"}),
        json!({"author": null, "count": 1}),
        json!({"author": {"name": "A"}, "count": 1}),
        json!({"author": "Alice", "count": true}),
        json!({"author": "Bob", "count": 3}),
    ]);
    let mut input = input;
    input.push(TestRecord::bytes("not json"));
    input.push(TestRecord::bytes("[1, 2]"));
    let outcome = chart.process(&input).unwrap();
    let reasons: Vec<(usize, &str)> =
        outcome.rejects.iter().map(|r| (r.input_index.unwrap(), r.reason.as_str())).collect();
    assert_eq!(reasons.len(), 8, "{reasons:?}");
    assert_eq!(reasons[0], (0, "record has no \"author\" field"));
    assert_eq!(reasons[1], (1, "record has no \"count\" field"));
    assert_eq!(reasons[2], (2, "\"count\" is \"many\", not a number"));
    assert_eq!(reasons[3], (3, "\"author\" is null, not a category name"));
    assert_eq!(reasons[4], (4, "\"author\" is an object or array, not a category name"));
    assert_eq!(reasons[5], (5, "\"count\" is a boolean, not a number"));
    assert!(reasons[6].1.starts_with("invalid JSON record"), "{reasons:?}");
    assert_eq!(reasons[6].0, 7);
    assert!(outcome.rejects.iter().all(|r| !r.panicked));
    // Only the good record counted.
    assert_eq!(chart.frame().unwrap()["series"][0]["categories"], json!(["Bob"]));
}

#[test]
fn svg_has_title_axis_labels_categories_and_a_tooltip_per_bar() {
    let mut chart = bar_chart(authors()).unwrap();
    feed(&mut chart, [("Alice", 12), ("Bob", 3), ("Carol & Dan", 7)].map(|(a, n)| json!({"author": a, "count": n})));
    let svg = render_svg(&chart);
    keep("bar.svg", svg.as_bytes());
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    let texts = svg_texts(&svg);
    for text in ["Commits per author", "Author", "Commits", "Alice", "Bob", "Carol &amp; Dan"] {
        assert!(texts.contains(&text), "missing {text} in {texts:?}");
    }
    let group = &svg[svg.find("<g class=\"buzz-tooltips\">").expect("tooltip group")..];
    assert!(group.trim_end().ends_with("</g>\n</svg>") || group.trim_end().ends_with("</g></svg>"));
    for title in ["<title>Alice: 12</title>", "<title>Bob: 3</title>", "<title>Carol &amp; Dan: 7</title>"] {
        assert!(group.contains(title), "missing {title}");
    }
    assert_eq!(group.matches("<rect").count(), 3);
    // No value labels unless asked for (3 and 7 are not y ticks).
    assert!(!texts.contains(&"3") && !texts.contains(&"7"), "{texts:?}");
}

/// The tooltip rectangles sit exactly over the drawn bars.
#[test]
fn tooltips_cover_the_bars() {
    let mut chart = bar_chart(json!({"color": "#123456"})).unwrap();
    feed(&mut chart, [("a", 10), ("b", 5)].map(|(c, v)| json!({"category": c, "value": v})));
    let svg = render_svg(&chart);
    let bars: Vec<[i64; 4]> =
        svg.lines().filter(|l| l.starts_with("<rect") && l.contains("fill=\"#123456\"")).map(rect_of).collect();
    let tips: Vec<[i64; 4]> =
        svg.lines().filter(|l| l.starts_with("<rect") && l.contains("fill-opacity=\"0\"")).map(rect_of).collect();
    assert_eq!(bars.len(), 2);
    assert_eq!(tips.len(), 2);
    for (bar, tip) in bars.iter().zip(&tips) {
        // plotters draws the rectangle inclusive of its last pixel row/column.
        assert!((bar[0] - tip[0]).abs() <= 1 && (bar[1] - tip[1]).abs() <= 1, "{bar:?} vs {tip:?}");
        assert!((bar[2] - tip[2]).abs() <= 1 && (bar[3] - tip[3]).abs() <= 1, "{bar:?} vs {tip:?}");
    }
    // The taller bar is taller.
    assert!(tips[0][3] > tips[1][3] * 3 / 2);
}

fn rect_of(line: &str) -> [i64; 4] {
    let attr = |name: &str| -> i64 {
        let start = line.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        let end = start + line[start..].find('"').unwrap();
        line[start..end].parse::<f64>().unwrap() as i64
    };
    [attr("x"), attr("y"), attr("width"), attr("height")]
}

#[test]
fn value_labels_use_decimals_or_integers() {
    let mut chart = bar_chart(json!({"value_labels": true})).unwrap();
    feed(&mut chart, [("a", 10), ("b", 5)].map(|(c, v)| json!({"category": c, "value": v})));
    let svg = render_svg(&chart);
    let texts = svg_texts(&svg);
    assert!(texts.contains(&"10") && texts.contains(&"5"), "integers expected: {texts:?}");

    let mut chart = bar_chart(json!({"value_labels": true, "value_decimals": 1})).unwrap();
    feed(&mut chart, [("a", 10.25), ("b", 5.0)].map(|(c, v)| json!({"category": c, "value": v})));
    let svg = render_svg(&chart);
    keep("bar-values.svg", svg.as_bytes());
    let texts = svg_texts(&svg);
    assert!(texts.contains(&"10.2") || texts.contains(&"10.3"), "{texts:?}");
    assert!(texts.contains(&"5.0"), "{texts:?}");
    assert!(svg.contains("<title>a: 10.2") || svg.contains("<title>a: 10.3"));
}

#[test]
fn viridis_colours_bars_by_value() {
    let mut chart = bar_chart(json!({"colormap": "viridis"})).unwrap();
    feed(&mut chart, [("a", 1), ("b", 5), ("c", 10)].map(|(c, v)| json!({"category": c, "value": v})));
    let svg = render_svg(&chart);
    keep("bar-viridis.svg", svg.as_bytes());
    let fills: Vec<&str> = svg
        .lines()
        .filter(|l| l.starts_with("<rect") && !l.contains("fill-opacity=\"0\""))
        .filter_map(|l| l.split("fill=\"").nth(1)?.split('"').next())
        .filter(|f| !f.eq_ignore_ascii_case("#FFFFFF"))
        .collect();
    assert_eq!(fills.len(), 3, "{fills:?}");
    assert!(fills[0] != fills[1] && fills[1] != fills[2] && fills[0] != fills[2]);
    // Viridis runs from dark purple (low) to yellow (high).
    assert!(fills[0].eq_ignore_ascii_case("#440154"), "{fills:?}");
    assert!(fills[2].eq_ignore_ascii_case("#FEE825"), "{fills:?}");
}

#[test]
fn long_and_many_categories_are_rotated_and_shortened() {
    let mut chart = bar_chart(json!({})).unwrap();
    feed(&mut chart, (0..20).map(|i| json!({"category": format!("category number {i}"), "value": i})));
    let svg = render_svg(&chart);
    keep("bar-rotated.svg", svg.as_bytes());
    assert!(svg.contains("rotate(270"), "labels should stand up");

    let mut chart = bar_chart(json!({})).unwrap();
    let long = "x".repeat(500);
    feed(&mut chart, [json!({"category": long, "value": 1})]);
    let svg = render_svg(&chart);
    assert!(svg.contains("…"), "a 500-character label is shortened");
    assert!(svg.contains(&format!("<title>{long}: 1</title>")), "the tooltip keeps the full name");
}

#[test]
fn state_round_trips() {
    let mut chart = bar_chart(authors()).unwrap();
    feed(&mut chart, [("Alice", 12), ("Bob", 3)].map(|(a, n)| json!({"author": a, "count": n})));
    let state = chart.save_state().unwrap();

    let mut restyled = bar_chart(json!({"category": "author", "value": "count", "sort": "value"})).unwrap();
    restyled.restore_state(state).unwrap();
    assert_eq!(restyled.frame().unwrap()["series"][0]["categories"], json!(["Alice", "Bob"]));
    // Restored categories are still updated in place.
    feed(&mut restyled, [json!({"author": "Bob", "count": 20})]);
    assert_eq!(restyled.frame().unwrap()["series"][0]["values"], json!([20.0, 12.0]));

    assert!(restyled.restore_state(json!({"bars": "nope"})).is_err());
}

#[test]
fn merged_partial_charts_add_their_bars() {
    let count = |author: &str, n: u32| json!({"author": author, "count": n});
    let mut a = bar_chart(authors()).unwrap();
    feed(&mut a, [count("Alice", 1), count("Bob", 1), count("Alice", 2), count("Eve", 4)]);
    let mut b = bar_chart(authors()).unwrap();
    feed(&mut b, [count("Bob", 1), count("Carol", 1), count("Bob", 2), count("Alice", 1)]);
    a.merge_state(b.save_state().unwrap()).unwrap();
    let series = &a.frame().unwrap()["series"][0];
    // Eve (here alone) and Carol (there alone) keep their values; Carol
    // follows this chart's categories.
    assert_eq!(series["categories"], json!(["Alice", "Bob", "Eve", "Carol"]));
    assert_eq!(series["values"], json!([3.0, 3.0, 4.0, 1.0]));
    // Merged bars are updated in place like any other.
    feed(&mut a, [count("Carol", 9)]);
    assert_eq!(a.frame().unwrap()["series"][0]["values"], json!([3.0, 3.0, 4.0, 9.0]));

    let before = a.save_state();
    assert!(a.merge_state(json!({"bars": "nope"})).unwrap_err().starts_with("invalid bar chart state to merge"));
    assert_eq!(a.save_state(), before, "a refused merge changes nothing");
}

#[test]
fn categories_past_max_categories_add_up_in_one_other_bar_also_when_merged_or_restored() {
    let settings = json!({"category": "author", "value": "count", "max_categories": 2});
    let mut chart = bar_chart(settings.clone()).unwrap();
    feed(&mut chart, ["Alice", "Bob", "Carol", "Alice", "Dave"].map(|a| json!({"author": a, "count": 1})));
    let bars = |chart: &buzz_sdk::testing::TestStage| chart.frame().unwrap()["series"][0].clone();
    assert_eq!(
        bars(&chart),
        json!({"name": "count", "categories": ["Alice", "Bob", "other"], "values": [1.0, 1.0, 2.0]})
    );

    let mut other = bar_chart(json!({"category": "author", "value": "count"})).unwrap();
    feed(&mut other, ["Eve", "Bob"].map(|a| json!({"author": a, "count": 3})));
    chart.merge_state(other.save_state().unwrap()).unwrap();
    assert_eq!(bars(&chart)["values"], json!([1.0, 4.0, 5.0]));

    let mut restored = bar_chart(json!({"category": "author", "value": "count", "max_categories": 1})).unwrap();
    restored.restore_state(chart.save_state().unwrap()).unwrap();
    assert_eq!(bars(&restored), json!({"name": "count", "categories": ["Alice", "other"], "values": [1.0, 9.0]}));
}

#[test]
fn an_empty_bar_chart_says_it_is_waiting_for_data() {
    let mut chart = crate::bar_chart(serde_json::json!({"category": "author", "value": "count"})).unwrap();
    let empty = crate::svg(&chart);
    assert!(crate::svg_texts(&empty).contains(&"waiting for data"), "{:?}", crate::svg_texts(&empty));
    crate::feed(&mut chart, [serde_json::json!({"author": "Alice", "count": 2})]);
    assert!(!crate::svg_texts(&crate::svg(&chart)).contains(&"waiting for data"));
}

#[test]
fn a_bar_chart_can_fix_its_y_axis() {
    let mut chart = crate::bar_chart(serde_json::json!({"category": "c", "value": "v", "y_max": 1.0})).unwrap();
    crate::feed(
        &mut chart,
        [serde_json::json!({"c": "news", "v": 0.42}), serde_json::json!({"c": "sports", "v": 0.55})],
    );
    let svg = crate::svg(&chart);
    assert!(crate::svg_texts(&svg).contains(&"1.0"), "{:?}", crate::svg_texts(&svg));
    assert_eq!(chart.frame().unwrap()["style"]["y_max"], 1.0);
}
