//! The JSON Schemas in schemas/: the pipeline-file schema matches what the
//! plugins declare and accepts every shipped pipeline; the message schemas
//! accept what the shipped sources make and refuse what they should.

mod common;

use std::path::Path;

use common::*;
use serde_json::{Value, json};

fn schema(name: &str) -> jsonschema::Validator {
    let schema: Value = read_json(&repo_root().join("schemas").join(name));
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{name} is not a valid JSON Schema: {e}"))
}

fn toml_as_json(path: &Path) -> Value {
    let value: toml::Value = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    serde_json::to_value(value).unwrap()
}

fn errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator.iter_errors(instance).map(|e| format!("{}: {e}", e.instance_path.as_str())).collect()
}

#[test]
fn the_committed_pipeline_schema_is_what_buzz_schema_generates() {
    let output = buzz().arg("schema").output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let committed = std::fs::read_to_string(repo_root().join("schemas/pipeline.schema.json")).unwrap();
    assert!(
        String::from_utf8_lossy(&output.stdout) == committed,
        "schemas/pipeline.schema.json is stale: regenerate it with `buzz schema --output schemas/pipeline.schema.json`"
    );
}

#[test]
fn every_shipped_pipeline_follows_the_pipeline_schema_and_mistakes_do_not() {
    let validator = schema("pipeline.schema.json");
    let mut checked = Vec::new();
    for path in shipped_pipeline_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("#:schema ../schemas/pipeline.schema.json"),
            "{} lacks the schema reference",
            path.display()
        );
        let problems = errors(&validator, &toml_as_json(&path));
        assert!(problems.is_empty(), "{}: {problems:#?}", path.display());
        checked.push(path.file_name().unwrap().to_string_lossy().into_owned());
    }
    assert_eq!(checked, SHIPPED_PIPELINES, "every shipped pipeline was validated");

    let mut smoker = toml_as_json(&repo_root().join("pipelines/smoker.toml"));
    smoker["transform"]["windw"] = json!(3);
    assert!(!errors(&validator, &smoker).is_empty(), "an unknown setting is flagged");
    let mut smoker = toml_as_json(&repo_root().join("pipelines/smoker.toml"));
    smoker["transform"]["window"] = json!("ten");
    assert!(!errors(&validator, &smoker).is_empty(), "a wrong type is flagged");
    smoker["transform"]["window"] = json!("${WINDOW:-10}");
    assert!(errors(&validator, &smoker).is_empty(), "an interpolated value is accepted");
    smoker["source"]["type"] = json!("csv_replai");
    assert!(!errors(&validator, &smoker).is_empty(), "an unknown stage type is flagged");
}

#[test]
fn the_shipped_sources_make_messages_that_follow_their_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("pipelines/buzz-file.toml", "buzz-message.schema.json", vec!["--set", "source.count=200"]),
        ("pipelines/smoker.toml", "smoker-reading.schema.json", vec![]),
        ("pipelines/project.toml", "project-message.schema.json", vec!["--set", "source.count=200"]),
    ];
    for (pipeline, schema_name, extra) in cases {
        let messages = produce_to_file(pipeline, &dir.path().join(format!("{schema_name}.jsonl")), &extra);
        assert!(messages.len() >= 200, "{pipeline}: {} messages", messages.len());
        let validator = schema(schema_name);
        for message in &messages {
            let problems = errors(&validator, message);
            assert!(problems.is_empty(), "{pipeline}: {message} breaks {schema_name}: {problems:?}");
        }
    }
    let readings = schema("smoker-reading.schema.json");
    assert!(!errors(&readings, &json!({"timestamp": "2025-01-01 10:00:00", "temperature": "hot"})).is_empty());
    assert!(!errors(&readings, &json!({"temperature": 70.1})).is_empty());
    let project = schema("project-message.schema.json");
    let mut message = json!({"message": "m", "author": "a", "timestamp": "2025-01-01 10:00:00", "category": "tech", "sentiment": 0.5, "keyword_mentioned": "Python", "message_length": 1});
    assert!(errors(&project, &message).is_empty());
    message["sentiment"] = json!(1.5);
    assert!(!errors(&project, &message).is_empty());
}

/// Runs a shipped pipeline's producer half into a file transport; returns
/// the records it wrote.
fn produce_to_file(pipeline: &str, file: &Path, extra: &[&str]) -> Vec<Value> {
    let text = std::fs::read_to_string(repo_root().join(pipeline)).unwrap();
    let start = text.find("[transport]").unwrap();
    let end = text[start + 1..].find("\n[").map_or(text.len(), |i| start + 1 + i);
    let replaced = format!("{}[transport]\ntype = \"file\"\npath = {:?}\n{}", &text[..start], file, &text[end..]);
    let copy = file.with_extension("toml");
    std::fs::write(&copy, replaced).unwrap();
    let output = buzz()
        .arg("run")
        .arg(&copy)
        .args(["--role", "produce", "--set", "source.interval_ms=0"])
        .args(extra)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    read_json_lines(file)
}
