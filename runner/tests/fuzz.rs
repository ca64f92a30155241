//! Bounded fuzzing of what reads untrusted input: the pipeline-file loader
//! (mutated shipped pipelines and raw bytes) and the record path (the
//! transport's record check). Nothing may panic, whatever the input, and
//! each answer is checked against an independent oracle: the `toml` crate
//! for TOML, `serde_json` for records, a model of `${VAR}` for interpolation,
//! and the file itself for where an error points.

mod common;

use buzz::config::diagnostics::{Diagnostic, Location};
use buzz::config::{self, Override, RecordCheck, SourceFile};
use buzz::pipeline::RecordGate;
use buzz::plugin_host::Catalog;
use common::repo_root;
use proptest::prelude::*;

/// A byte edit of a text: replace, insert or delete at a position.
#[derive(Debug, Clone)]
enum Edit {
    Replace(usize, u8),
    Insert(usize, u8),
    Delete(usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let byte = prop_oneof![
        Just(b'"'),
        Just(b'='),
        Just(b'['),
        Just(b']'),
        Just(b'\n'),
        Just(b'$'),
        Just(b'{'),
        Just(b'}'),
        any::<u8>()
    ];
    let edit = prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(at, b)| Edit::Replace(at, b)),
        (any::<usize>(), byte).prop_map(|(at, b)| Edit::Insert(at, b)),
        any::<usize>().prop_map(Edit::Delete),
    ];
    prop::collection::vec(edit, 1..8)
}

fn apply(text: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut bytes = text.to_vec();
    for edit in edits {
        let len = bytes.len().max(1);
        match *edit {
            Edit::Replace(at, b) if !bytes.is_empty() => bytes[at % len] = b,
            Edit::Insert(at, b) => bytes.insert(at % (bytes.len() + 1), b),
            Edit::Delete(at) if !bytes.is_empty() => {
                bytes.remove(at % len);
            }
            _ => {}
        }
    }
    bytes
}

fn shipped() -> Vec<Vec<u8>> {
    std::fs::read_dir(repo_root().join("pipelines"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_loader_survives_mutated_pipelines(which in 0usize..32, edits in edits(), set in "[a-z_.]{1,20}=[ -~]{0,12}") {
        let pipelines = shipped();
        let text = apply(&pipelines[which % pipelines.len()], &edits);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fuzzed.toml");
        std::fs::write(&path, &text).unwrap();
        let overrides: Vec<Override> = Override::parse(&set).into_iter().collect();
        // Ok or a list of diagnostics; never a panic. Each error points into
        // this file (or at the --set it came from) and says something.
        if let Err(diagnostics) = config::load(&path, &overrides, &Catalog::search) {
            prop_assert!(!diagnostics.0.is_empty());
            for d in &diagnostics.0 {
                check_points_into(d, &path, &String::from_utf8_lossy(&text))?;
            }
        }
    }

    #[test]
    fn the_toml_reader_survives_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let file = SourceFile { path: "fuzz.toml".into(), text: text.clone() };
        let parsed = config::document::parse(&file);
        // Valid TOML exactly when the toml crate's own reader says so.
        prop_assert_eq!(parsed.is_ok(), text.parse::<toml::Table>().is_ok(), "{:?}", text);
        if let Err(d) = parsed {
            check_points_into(&d, std::path::Path::new("fuzz.toml"), &text)?;
        }
    }

    #[test]
    fn the_toml_reader_reads_mutated_pipelines_as_toml_does(which in 0usize..32, edits in edits()) {
        let pipelines = shipped();
        let text = String::from_utf8_lossy(&apply(&pipelines[which % pipelines.len()], &edits)).into_owned();
        let file = SourceFile { path: "fuzz.toml".into(), text: text.clone() };
        prop_assert_eq!(config::document::parse(&file).is_ok(), text.parse::<toml::Table>().is_ok(), "{:?}", text);
    }

    #[test]
    fn interpolation_survives_any_text(text in "[ -~]{0,60}") {
        let result = config::interpolate::expand(&text, &|name: &str| name.len().is_multiple_of(2).then(|| "value".to_string()));
        // Text with no `$` is left alone.
        if !text.contains('$') {
            prop_assert_eq!(result, Ok(None));
        }
    }

    #[test]
    fn interpolation_does_what_the_model_says(pieces in prop::collection::vec(piece(), 0..8)) {
        let text: String = pieces.iter().map(Piece::text).collect();
        let expected: Option<String> = pieces.iter().map(Piece::expanded).collect();
        let interpolates = pieces.iter().any(|p| !matches!(p, Piece::Plain(_)));
        let result = config::interpolate::expand(&text, &lookup);
        match expected {
            // An unset variable with no default is an error naming it.
            None => prop_assert!(result.is_err_and(|e| e.contains("is not set")), "{:?}", text),
            Some(out) if interpolates => prop_assert_eq!(result, Ok(Some(out))),
            Some(_) => prop_assert_eq!(result, Ok(None)),
        }
    }

    #[test]
    fn the_record_check_survives_any_record(bytes in prop::collection::vec(any::<u8>(), 0..300), json in any::<bool>()) {
        let schema = serde_json::json!({"type": "object", "required": ["temperature"], "properties": {"temperature": {"type": "number"}}});
        let check = RecordCheck { json, schema: json.then(|| config::RecordSchema { path: "s.json".into(), schema }), max_bytes: 200 };
        let gate = RecordGate::new(&check).unwrap();
        prop_assert_eq!(gate.check(&bytes, &mut Vec::new()).is_ok(), accepted(&bytes, json), "{:?}", String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn the_record_check_judges_near_valid_readings(temperature in prop_oneof![Just("71.5".to_string()), "[-0-9.e\"a-z]{0,8}"], extra in "[ -~]{0,20}", json in any::<bool>()) {
        let bytes = format!("{{\"temperature\": {temperature}{extra}}}").into_bytes();
        let schema = serde_json::json!({"type": "object", "required": ["temperature"], "properties": {"temperature": {"type": "number"}}});
        let check = RecordCheck { json, schema: json.then(|| config::RecordSchema { path: "s.json".into(), schema }), max_bytes: 200 };
        let gate = RecordGate::new(&check).unwrap();
        prop_assert_eq!(gate.check(&bytes, &mut Vec::new()).is_ok(), accepted(&bytes, json), "{:?}", String::from_utf8_lossy(&bytes));
    }
}

/// Whether a record passes: at most 200 bytes and, when JSON is checked, an
/// object whose `temperature` is a number (serde_json's reading of it).
fn accepted(bytes: &[u8], json: bool) -> bool {
    if bytes.len() > 200 {
        return false;
    }
    if !json {
        return true;
    }
    serde_json::from_slice::<serde_json::Value>(bytes)
        .is_ok_and(|v| v.get("temperature").is_some_and(serde_json::Value::is_number))
}

/// A diagnostic names `path` at a line and column inside `text` (or a
/// --set), and says something.
fn check_points_into(d: &Diagnostic, path: &std::path::Path, text: &str) -> Result<(), TestCaseError> {
    prop_assert!(!d.message.trim().is_empty(), "{}", d);
    match &d.location {
        Location::File { path: at, line, col } => {
            prop_assert_eq!(at.as_path(), path);
            let lines = text.split('\n').count();
            prop_assert!(*line >= 1 && *line <= lines, "line {} of {}: {}", line, lines, d);
            let width = text.split('\n').nth(line - 1).map_or(0, |l| l.chars().count());
            prop_assert!(*col >= 1 && *col <= width + 1, "col {} of {}: {}", col, width, d);
        }
        Location::FileOnly(at) => prop_assert_eq!(at.as_path(), path),
        Location::Override(_) => {}
    }
    Ok(())
}

/// A piece of a string value, for the interpolation model.
#[derive(Debug, Clone)]
enum Piece {
    Plain(String),
    /// `${NAME}` or `${NAME:-default}`.
    Variable(String, Option<String>),
    /// `$${`: a literal `${`.
    Escape,
}

/// The model's environment: names of even length are set, to "value".
fn lookup(name: &str) -> Option<String> {
    name.len().is_multiple_of(2).then(|| format!("<{name}>"))
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        "[a-z :/.-]{1,6}".prop_map(Piece::Plain),
        ("[A-Z_][A-Z0-9_]{0,5}", prop::option::of("[a-z0-9 .]{0,6}")).prop_map(|(n, d)| Piece::Variable(n, d)),
        Just(Piece::Escape),
    ]
}

impl Piece {
    fn text(&self) -> String {
        match self {
            Piece::Plain(text) => text.clone(),
            Piece::Variable(name, None) => format!("${{{name}}}"),
            Piece::Variable(name, Some(default)) => format!("${{{name}:-{default}}}"),
            Piece::Escape => "$${".to_string(),
        }
    }

    /// What it becomes, `None` for an unset variable with no default.
    fn expanded(&self) -> Option<String> {
        match self {
            Piece::Plain(text) => Some(text.clone()),
            Piece::Variable(name, default) => lookup(name).or_else(|| default.clone()),
            Piece::Escape => Some("${".to_string()),
        }
    }
}
