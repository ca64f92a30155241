//! The plugin boundary: real libraries built in this workspace, loaded with
//! libloading through the versioned C ABI.

mod common;

use std::sync::Arc;

use buzz::plugin_host::{self, ABI_VERSION, InputBuffer, LoadError, RecordView, StageInstance};
use common::*;
use serde_json::json;

fn library_path(name: &str) -> std::path::PathBuf {
    require_plugins();
    build_dir().join(format!("{}buzz_plugin_{name}{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX))
}

/// An input of these payloads, laid out in `buffer`.
fn records<'a>(buffer: &'a mut InputBuffer, payloads: &[&'a str]) -> plugin_host::Records<'a> {
    buffer.lay_out(payloads.iter().map(|p| RecordView::bytes(p.as_bytes())))
}

#[test]
fn a_workspace_plugin_loads_and_a_batch_goes_through_it() {
    let plugin = Arc::new(plugin_host::load(&library_path("aggregate")).expect("aggregate plugin loads"));
    assert_eq!(plugin.name, "aggregate");
    assert_eq!(plugin.abi_version, ABI_VERSION);
    let info = plugin.stage("count_by").expect("count_by is described");
    assert_eq!(info.settings["properties"]["field"]["default"], "author");

    let mut stage = StageInstance::new(plugin, "count_by", &json!({"field": "author"})).unwrap();
    let mut buffer = InputBuffer::default();
    let input =
        records(&mut buffer, &[r#"{"author":"Alice"}"#, r#"{"author":"Bob"}"#, r#"{"author":"Alice"}"#, "not json"]);
    let out = stage.process(input).unwrap();
    let emitted: Vec<serde_json::Value> =
        out.records.iter().map(|r| serde_json::from_slice(r.payload).unwrap()).collect();
    assert_eq!(emitted, vec![json!({"author": "Alice", "count": 2}), json!({"author": "Bob", "count": 1})]);
    let rejected: Vec<Option<usize>> = out.rejects.iter().map(|r| r.input_index).collect();
    assert_eq!(rejected, [Some(3)]);

    let state = stage.save_state().unwrap().expect("count_by keeps state");
    let state: serde_json::Value = serde_json::from_slice(state.json()).unwrap();
    assert_eq!(state["totals"]["keys"], json!(["Alice", "Bob"]));
}

#[test]
fn partial_states_merge_through_the_abi_and_stages_that_cannot_merge_refuse() {
    let aggregate = Arc::new(plugin_host::load(&library_path("aggregate")).expect("aggregate plugin loads"));
    let mut a = StageInstance::new(aggregate.clone(), "count_by", &json!({})).unwrap();
    let mut b = StageInstance::new(aggregate, "count_by", &json!({})).unwrap();
    let mut buffer = InputBuffer::default();
    a.process(records(&mut buffer, &[r#"{"author":"Alice"}"#, r#"{"author":"Bob"}"#])).unwrap();
    b.process(records(&mut buffer, &[r#"{"author":"Alice"}"#])).unwrap();
    let state = b.save_state().unwrap().expect("count_by keeps state");
    a.merge_state(&state).unwrap();
    let out = a.process(plugin_host::Records::EMPTY).unwrap();
    let emitted: Vec<serde_json::Value> =
        out.records.iter().map(|r| serde_json::from_slice(r.payload).unwrap()).collect();
    assert_eq!(emitted, vec![json!({"author": "Alice", "count": 2})]);
    let error = a.merge_state(&(&json!({"totals": 1})).into()).unwrap_err();
    assert!(!error.panicked && error.message.starts_with("invalid state to merge"), "{error}");

    let smoker = Arc::new(plugin_host::load(&library_path("smoker")).expect("smoker plugin loads"));
    let mut stall = StageInstance::new(smoker, "stall_detection", &json!({})).unwrap();
    let error = stall.merge_state(&(&json!({"window": [100.0]})).into()).unwrap_err();
    assert_eq!((error.panicked, error.message.as_str()), (false, "stall_detection cannot merge partial states"));
    let basics = Arc::new(plugin_host::load(&library_path("basics")).expect("basics plugin loads"));
    let mut ticks = StageInstance::new(basics, "ticks", &json!({})).unwrap();
    let error = ticks.merge_state(&(&json!({})).into()).unwrap_err();
    assert_eq!(error.message, "ticks is a source: sources cannot merge partial states");
}

#[test]
fn a_plugin_built_for_another_abi_is_refused_by_name_before_any_call() {
    let dir = tempfile::tempdir().unwrap();
    let path = install_fixture("wrong_abi", dir.path(), "future");
    let error = plugin_host::load(&path).unwrap_err();
    assert_eq!(error, LoadError::AbiMismatch { found: ABI_VERSION + 1 });
    let catalog = plugin_host::Catalog::discover(vec![dir.path().to_path_buf()]);
    assert!(catalog.plugins.is_empty());
    let message = catalog.refused[0].to_string();
    assert!(message.starts_with("plugin future ("), "{message}");
    assert!(
        message
            .contains(&format!("was built for plugin ABI {}, this runner speaks ABI {ABI_VERSION}", ABI_VERSION + 1)),
        "{message}"
    );
}

#[test]
fn a_library_that_is_not_a_buzz_plugin_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = install_fixture("not_a_plugin", dir.path(), "imposter");
    assert_eq!(plugin_host::load(&path).unwrap_err(), LoadError::NotAPlugin);
    let garbage =
        dir.path().join(format!("{}buzz_plugin_garbage{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX));
    std::fs::write(&garbage, b"not a library").unwrap();
    assert!(matches!(plugin_host::load(&garbage).unwrap_err(), LoadError::Open(_)));
}

#[test]
fn a_panicking_plugin_returns_errors_and_the_runner_carries_on() {
    let plugin = Arc::new(plugin_host::load(&fixture_library("panicky")).expect("fixture loads"));

    let error = StageInstance::new(plugin.clone(), "panicky", &json!({"panic_on_start": true})).unwrap_err();
    assert!(error.panicked);
    assert!(error.message.contains("panicky was told to panic on start"), "{}", error.message);

    let mut stage = StageInstance::new(plugin, "panicky", &json!({})).unwrap();
    let mut buffer = InputBuffer::default();
    let input = records(&mut buffer, &[r#"{"n":1}"#, r#"{"n":"boom"}"#, r#"{"n":"bad"}"#, r#"{"n":4}"#]);
    let out = stage.process(input).unwrap();
    // The good records pass; the panicking and failing ones are rejected
    // with their reasons, and what they emitted is dropped.
    assert_eq!(out.records.len(), 2);
    let rejects: Vec<(Option<usize>, bool, String)> = out
        .rejects
        .iter()
        .map(|r| (r.input_index, r.panicked, String::from_utf8_lossy(r.reason).into_owned()))
        .collect();
    assert_eq!(rejects[0].0, Some(1));
    assert!(rejects[0].1, "the first reject is a panic");
    assert!(rejects[0].2.contains("boom in record"), "{}", rejects[0].2);
    assert!(rejects[0].2.contains("src/lib.rs"), "the panic names its location: {}", rejects[0].2);
    assert_eq!(rejects[1], (Some(2), false, r#"bad record {"n":"bad"}"#.to_string()));
    // The stage still works after panicking.
    assert_eq!(stage.process(records(&mut buffer, &[r#"{"n":5}"#])).unwrap().records.len(), 1);
}

#[test]
fn plugins_command_lists_plugins_abi_and_settings() {
    let output = buzz().args(["plugins", "--json"]).output().unwrap();
    assert!(output.status.success());
    let catalog: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let plugins = catalog["plugins"].as_array().unwrap();
    let names: Vec<&str> = plugins.iter().map(|p| p["name"].as_str().unwrap()).collect();
    for expected in ["aggregate", "buzz", "charts", "csv", "smoker"] {
        assert!(names.contains(&expected), "{expected} missing from {names:?}");
    }
    assert!(plugins.iter().all(|p| p["abi_version"] == ABI_VERSION));
    let text = String::from_utf8_lossy(&buzz().arg("plugins").output().unwrap().stdout).into_owned();
    assert!(text.contains("transform stall_detection"), "{text}");
    assert!(
        text.lines().any(|l| l.trim_start().starts_with("window") && l.contains("integer") && l.contains("default 10")),
        "{text}"
    );
}

fn plugins_text(args: &[&str]) -> String {
    let output = buzz().arg("plugins").args(args).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn plotkit_plugins_kind_chart_lists_only_charts_in_80_columns() {
    let text = plugins_text(&["--kind", "chart"]);
    let stages: Vec<&str> =
        text.lines().filter(|l| l.starts_with("  ") && !l.starts_with("   ") && l.contains(": ")).collect();
    for chart in ["chart bar_chart:", "chart line_chart:", "chart histogram:", "chart scatter:"] {
        assert!(stages.iter().any(|l| l.trim_start().starts_with(chart)), "{chart} missing:\n{text}");
    }
    assert!(stages.iter().all(|l| l.trim_start().starts_with("chart ")), "not only charts:\n{text}");
    assert!(!text.contains("plugin aggregate") && !text.contains("transport "), "{text}");
    for output in [text, plugins_text(&[]), plugins_text(&["--kind", "transport"]), plugins_text(&["--colors"])] {
        let long: Vec<&str> = output.lines().filter(|l| l.chars().count() > 80).collect();
        assert!(long.is_empty(), "lines over 80 columns: {long:#?}");
    }
    let transports = plugins_text(&["--kind", "transport"]);
    for transport in ["transport file:", "transport kafka:", "transport memory:"] {
        assert!(transports.contains(transport), "{transport} missing:\n{transports}");
    }
    assert!(!transports.contains("\nplugin "), "{transports}");
}

#[test]
fn plotkit_plugins_colors_lists_the_colour_names_and_colormaps_charts_accept() {
    let text = plugins_text(&["--colors"]);
    let words: Vec<&str> = text.split_whitespace().collect();
    for name in ["black", "skyblue", "steelblue", "whitesmoke", "viridis", "copper", "mandelbrot", "vulcano"] {
        assert!(words.contains(&name), "{name} missing:\n{text}");
    }
    let unwrapped = words.join(" ");
    for user in [
        "bar_chart (color, background)",
        "line_chart (line_color, marker_color)",
        "histogram (color, background)",
        "scatter (color, background)",
        "bar_chart (colormap)",
    ] {
        assert!(unwrapped.contains(user), "{user} missing:\n{text}");
    }
    let output = buzz().args(["plugins", "--colors", "--json"]).output().unwrap();
    let listing: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(listing["colors"].as_array().unwrap().len(), 1, "every chart accepts the same names: {listing}");
    assert_eq!(listing["colors"][0]["settings"].as_array().unwrap().len(), 8, "{listing}");
    let colormaps = &listing["colormaps"][0];
    assert_eq!(colormaps["names"], json!(["none", "viridis", "blackwhite", "bone", "copper", "mandelbrot", "vulcano"]));
}
