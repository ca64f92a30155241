//! `buzz check`: good pipelines pass; each kind of bad one fails with
//! `file:line:col: message`.

mod common;

use std::path::{Path, PathBuf};

use common::toml_file::TomlFile;
use common::*;

/// A pipeline with one problem on a known line.
const GOOD: &str = r#"name = "t"

[source]
type = "csv_replay"
path = "data/smoker.csv"
interval_ms = 0

[transport]
type = "file"

[transform]
type = "stall_detection"
window = 10

[chart]
type = "line_chart"
title = "T"
"#;

/// GOOD with one edit made to it as a TOML document (what it does not
/// touch stays on its line).
fn good(change: impl FnOnce(&mut TomlFile) -> &mut TomlFile) -> String {
    let mut file = TomlFile::parse(GOOD);
    change(&mut file);
    file.text()
}

/// The transform made the panicky fixture, told `order` (where the window
/// was).
fn panicky<'a>(file: &'a mut TomlFile, order: &str) -> &'a mut TomlFile {
    file.set("transform.type", "panicky").rename("transform.window", order).set(&format!("transform.{order}"), true)
}

fn write(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("pipeline.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `buzz check` on `text`, returning (exit code, stderr lines).
fn check(text: &str) -> (i32, Vec<String>, PathBuf) {
    let dir = tempfile::tempdir().unwrap().keep();
    let path = write(&dir, text);
    let output = buzz().arg("check").arg(&path).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).lines().map(str::to_string).collect();
    (output.status.code().unwrap(), stderr, path)
}

/// Asserts exactly one error at `line:col` whose message contains each of `words`.
fn assert_error(text: &str, line: usize, col: usize, words: &[&str]) {
    let (code, errors, path) = check(text);
    assert_eq!(code, 1, "expected failure, got {errors:?}");
    let prefix = format!("{}:{line}:{col}: ", path.display());
    let matching: Vec<&String> = errors.iter().filter(|e| e.starts_with(&prefix)).collect();
    assert_eq!(matching.len(), 1, "expected one error at {line}:{col}, got {errors:#?}");
    for word in words {
        assert!(matching[0].contains(word), "{:?} lacks {word:?}", matching[0]);
    }
}

#[test]
fn every_shipped_pipeline_checks_clean() {
    let mut checked = Vec::new();
    for path in shipped_pipeline_files() {
        let output = buzz().arg("check").arg(&path).output().unwrap();
        assert!(output.status.success(), "{}: {}", path.display(), String::from_utf8_lossy(&output.stderr));
        assert!(String::from_utf8_lossy(&output.stdout).contains(": ok ("));
        checked.push(path.file_name().unwrap().to_string_lossy().into_owned());
    }
    assert_eq!(checked, SHIPPED_PIPELINES, "every shipped pipeline was checked");
}

#[test]
fn the_good_template_passes() {
    let (code, errors, _) = check(GOOD);
    assert_eq!(code, 0, "{errors:?}");
}

#[test]
fn toml_syntax_error() {
    assert_error(&GOOD.replace("window = 10", "window = "), 13, 10, &["invalid TOML"]);
}

#[test]
fn unknown_stage_type_suggests_the_closest() {
    assert_error(
        &good(|f| f.set("transform.type", "stall_detector")),
        12,
        8,
        &[
            "no plugin provides transform type `stall_detector`",
            "did you mean `stall_detection`?",
            "plugins searched in",
        ],
    );
}

#[test]
fn stage_of_the_wrong_kind() {
    assert_error(
        &good(|f| f.set("transform.type", "line_chart")),
        12,
        8,
        &["`line_chart` is a chart stage, not a transform"],
    );
}

#[test]
fn unknown_setting_suggests_the_closest() {
    assert_error(
        &good(|f| f.rename("transform.window", "windw")),
        13,
        1,
        &["unknown setting `transform.windw`", "did you mean `window`?"],
    );
}

#[test]
fn wrong_type() {
    assert_error(
        &good(|f| f.set("transform.window", "ten")),
        13,
        10,
        &["`transform.window` must be an integer", "found a string"],
    );
}

#[test]
fn value_out_of_range() {
    assert_error(&good(|f| f.set("transform.window", 1)), 13, 10, &["`transform.window` must be at least 2, found 1"]);
}

#[test]
fn missing_data_file_names_the_setting() {
    assert_error(
        &good(|f| f.set("source.path", "data/nope.csv")),
        5,
        8,
        &["source.path", "cannot open CSV file \"data/nope.csv\""],
    );
}

#[test]
fn missing_required_setting() {
    assert_error(&good(|f| f.remove("source.path")), 3, 2, &["missing setting `source.path` for source csv_replay"]);
}

#[test]
fn unset_environment_variable() {
    assert_error(
        &good(|f| f.set("source.path", "${BUZZ_TEST_UNSET_VARIABLE}")),
        5,
        8,
        &["environment variable BUZZ_TEST_UNSET_VARIABLE is not set"],
    );
}

#[test]
fn missing_table_and_unknown_top_level_key() {
    let (code, errors, path) = check(&good(|f| f.remove("chart").set_table("chrt", "")));
    assert_eq!(code, 1);
    let file = path.display().to_string();
    assert!(errors.contains(&format!("{file}:15:2: unknown top-level key `chrt`; did you mean `chart`?; a pipeline has name, description, plugins_dir and the tables [source], [transport], [transform], [chart], [dead_letter], [dashboard], [state]")), "{errors:#?}");
    assert!(errors.iter().any(|e| e.starts_with(&format!("{file}:1:1: missing [chart] table"))), "{errors:#?}");
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let (code, errors, _) =
        check(&good(|f| f.set("transform.window", 1).rename("chart.title", "titel").set("transport.poll", 3)));
    assert_eq!(code, 1);
    assert_eq!(errors.len(), 3, "{errors:#?}");
}

#[test]
fn a_missing_pipeline_file_is_named() {
    let output = buzz().args(["check", "pipelines/does-not-exist.toml"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim(),
        "pipelines/does-not-exist.toml: pipeline file not found; check the path"
    );
}

#[test]
fn overrides_are_checked_and_named_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), GOOD);
    let output = buzz().arg("check").arg(&path).args(["--set", "transform.window=zero"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim(),
        "--set transform.window=zero: `transform.window` must be an integer, found a string (\"zero\")"
    );
    let output = buzz().arg("check").arg(&path).args(["--set", "transform.window=12"]).output().unwrap();
    assert!(output.status.success());
}

#[test]
fn a_plugin_error_at_start_points_at_the_setting_it_names() {
    let dir = tempfile::tempdir().unwrap();
    install_fixture("panicky", dir.path(), "panicky");
    let text = good(|f| panicky(f, "fail_on_start"));
    let path = write(dir.path(), &format!("plugins_dir = {:?}\n{text}", dir.path()));
    let output = buzz().arg("check").arg(&path).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.trim(),
        format!("{}:14:17: transform.fail_on_start: panicky was told to fail on start", path.display())
    );
}

#[test]
fn a_plugin_that_panics_at_start_is_reported_and_the_runner_survives() {
    let dir = tempfile::tempdir().unwrap();
    install_fixture("panicky", dir.path(), "panicky");
    let text = good(|f| panicky(f, "panic_on_start"));
    let path = write(dir.path(), &format!("plugins_dir = {:?}\n{text}", dir.path()));
    let output = buzz().arg("check").arg(&path).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "transform panicky: the plugin panicked while building the stage: panicky was told to panic on start"
        ),
        "{stderr}"
    );
}

#[test]
fn an_unwritable_dead_letter_path_is_refused_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    // A file where the path needs a folder: refused even for root.
    let blocker = dir.path().join("blocker");
    std::fs::write(&blocker, "a file").unwrap();
    let text = good(|f| f.set("dead_letter.path", blocker.join("dead.jsonl").display().to_string()));
    assert_error(&text, 20, 8, &["dead_letter.path", "cannot write dead letters", "choose another `path`"]);
    // And a run refuses to start rather than lose its first bad record.
    let path = write(dir.path(), &text);
    let output = buzz().args(["run", "--exit-when-done", "--http", "off"]).arg(&path).output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot write dead letters"));
}

#[test]
fn a_chart_reading_a_field_the_transform_does_not_output() {
    let text = r#"name = "t"

[source]
type = "buzz_messages"

[transport]
type = "file"

[transform]
type = "count_by"
field = "message"

[chart]
type = "bar_chart"
category = "author"
value = "count"
"#;
    assert_error(
        text,
        15,
        12,
        &["chart.category", r#"reads field "author""#, r#"count_by outputs only "count", "message""#],
    );
    // A transform that passes its input on outputs the source's fields too.
    let identity = text.replace("type = \"count_by\"\nfield = \"message\"", "type = \"identity\"");
    assert_error(&identity, 15, 9, &["chart.value", r#"reads field "count""#, r#""author", "message""#]);
}

#[test]
fn a_field_the_records_schema_lacks_is_refused_with_the_closest() {
    // The transport's JSON Schema names the records' fields; the chart's y
    // is misspelt (the stall transform passes its input on, plus `stall`).
    let text = good(|f| f.set("transport.schema", "schemas/smoker-reading.schema.json").set("chart.y", "temprature"));
    assert_error(
        &text,
        19,
        5,
        &[
            "chart.y: the chart reads field \"temprature\"",
            "transform stall_detection outputs only \"stall\", \"temperature\", \"timestamp\"",
            "did you mean `temperature`?",
        ],
    );
}

#[test]
fn swapped_letters_get_a_suggestion_too() {
    assert_error(&good(|f| f.rename("chart.title", "titel")), 17, 1, &["`chart.titel`", "did you mean `title`?"]);
}

#[test]
fn a_charts_settings_in_errors_include_those_the_runner_takes() {
    assert_error(
        &good(|f| f.set("chart.zzz", 1)),
        18,
        1,
        &["unknown setting `chart.zzz`", "title,", "max_points, y_min, y_max, output, fps, png_interval_ms)"],
    );
}

#[test]
fn an_invalid_choice_lists_the_valid_ones() {
    assert_error(
        &good(|f| f.set("transport.fsync", "alway")),
        10,
        9,
        &["`transport.fsync` must be one of \"always\", \"interval\", \"never\"", "did you mean `\"always\"`?"],
    );
}

#[test]
fn a_dashboard_address_run_would_refuse_is_refused_by_check() {
    assert_error(
        &good(|f| f.set("dashboard.listen", "abc")),
        20,
        10,
        &["`dashboard.listen`: dashboard address \"abc\" is not \"off\", a port"],
    );
}

/// 1-based line and column of the first `needle` in `text`.
fn position(text: &str, needle: &str) -> (usize, usize) {
    let before = &text[..text.find(needle).expect("needle in text")];
    (before.matches('\n').count() + 1, before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1)
}

/// librdkafka itself judges Kafka client properties: a name it does not
/// know and a value it refuses are errors at their keys (the transport's
/// and the dead letters'), a property buzz sets from its own setting says
/// which; what it accepts passes (zstd and TLS are built in).
#[test]
fn kafka_properties_librdkafka_refuses_are_errors_at_their_keys() {
    let text = GOOD.replace(
        "type = \"file\"",
        r#"type = "kafka"
topic = "t"
[transport.properties]
"compression.type" = "zstd"
"security.protocol" = "SASL_SSL"
"sasl.mechanisms.typo" = "PLAIN"
  "session.timeout.ms" = "soon"
"group.id" = "mine""#,
    ) + "\n[dead_letter]\ntopic = \"d\"\nproperties = { \"acks\" = \"most\" }\n";
    let (code, errors, path) = check(&text);
    assert_eq!(code, 1);
    let expected = [
        ("\"sasl.mechanisms.typo\"", "No such configuration property"),
        (
            "\"session.timeout.ms\"",
            "Invalid value for configuration property \"session.timeout.ms\" (the value is \"soon\")",
        ),
        ("\"group.id\"", "buzz sets group.id from the transport's `group`"),
        ("\"acks\"", "(the value is \"most\")"),
    ];
    assert_eq!(errors.len(), expected.len(), "{errors:#?}");
    for (key, reason) in expected {
        let (line, col) = position(&text, key);
        let section = if key == "\"acks\"" { "dead_letter" } else { "transport" };
        let start = format!("{}:{line}:{col}: {section}.properties.{key}: ", path.display());
        assert!(
            errors.iter().any(|e| e.starts_with(&start) && e.contains(reason)),
            "no {start:?} with {reason:?}: {errors:#?}"
        );
    }
}

/// `--set` reaches keys with dots in them when they are quoted, as in TOML;
/// librdkafka checks those too, and a secret's value stays hidden.
#[test]
fn set_quotes_keys_with_dots_and_librdkafka_checks_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), &good(|f| f.set("transport.type", "kafka").set("transport.topic", "t")));
    let check_with = |setting: &str| {
        let output = buzz().arg("check").arg(&path).args(["--set", setting]).output().unwrap();
        (output.status.code(), String::from_utf8_lossy(&output.stderr).trim().to_string())
    };
    assert_eq!(check_with(r#"transport.properties."sasl.mechanism"=SCRAM-SHA-256"#), (Some(0), String::new()));
    assert_eq!(check_with(r#"transport.properties.'compression.type'=zstd"#), (Some(0), String::new()));
    let (code, error) = check_with(r#"transport.properties."compression.type"=brotli"#);
    assert_eq!(code, Some(1));
    assert!(
        error.starts_with(r#"--set transport.properties."compression.type"=brotli: transport.properties."compression.type": librdkafka refuses it: Invalid value "brotli""#),
        "{error}"
    );
    let (code, error) = check_with(r#"transport.properties."sasl.password.typo"=hunter2"#);
    assert_eq!(code, Some(1));
    assert!(error.starts_with(r#"--set transport.properties."sasl.password.typo"=<redacted>: "#), "{error}");
    assert!(error.contains("No such configuration property") && !error.contains("hunter2"), "{error}");
    // librdkafka's settings are text: a number or a boolean is taken as
    // its text, and librdkafka judges that text at its key.
    assert_eq!(check_with(r#"transport.properties."queued.min.messages"=100000"#), (Some(0), String::new()));
    assert_eq!(check_with(r#"transport.properties."enable.partition.eof"=false"#), (Some(0), String::new()));
    let (code, error) = check_with(r#"transport.properties."queued.min.messages"=-5"#);
    assert_eq!(code, Some(1));
    let at_key = r#"--set transport.properties."queued.min.messages"=-5: transport.properties."queued.min.messages": librdkafka refuses it"#;
    assert!(error.starts_with(at_key), "{error}");
}

/// The properties taken together, as the run's clients get them: a CA file
/// that cannot be read, or SCRAM without a user, is refused at
/// `transport.properties` before any broker is asked.
#[test]
fn kafka_properties_librdkafka_cannot_use_together_are_errors() {
    let cases = [
        (r#"{ "security.protocol" = "SSL", "ssl.ca.location" = "/no/such/ca.pem" }"#, "ssl.ca.location failed"),
        (
            r#"{ "security.protocol" = "SASL_SSL", "sasl.mechanism" = "SCRAM-SHA-256" }"#,
            "sasl.username and sasl.password must be set",
        ),
    ];
    for (properties, reason) in cases {
        let text =
            GOOD.replace("type = \"file\"", &format!("type = \"kafka\"\ntopic = \"t\"\nproperties = {properties}"));
        let (line, col) = position(&text, properties);
        assert_error(&text, line, col, &["transport.properties: librdkafka cannot make the producer", reason]);
    }
}
