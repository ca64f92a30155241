//! Bounded fuzzing of what reads untrusted input: the pipeline-file loader
//! (mutated shipped pipelines and raw bytes) and the record path (the
//! transport's record check). Nothing may panic, whatever the input.

mod common;

use buzz::config::{self, Override, RecordCheck, SourceFile};
use buzz::pipeline::RecordGate;
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
        // Ok or a list of diagnostics; never a panic. Errors name the file.
        if let Err(diagnostics) = config::load(&path, &overrides) {
            prop_assert!(!diagnostics.0.is_empty());
        }
    }

    #[test]
    fn the_toml_reader_survives_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let file = SourceFile { path: "fuzz.toml".into(), text: String::from_utf8_lossy(&bytes).into_owned() };
        let _ = config::document::parse(&file);
    }

    #[test]
    fn interpolation_survives_any_text(text in "[ -~]{0,60}") {
        let _ = config::interpolate::expand(&text, &|name: &str| name.len().is_multiple_of(2).then(|| "value".to_string()));
    }

    #[test]
    fn the_record_check_survives_any_record(bytes in prop::collection::vec(any::<u8>(), 0..300), json in any::<bool>()) {
        let schema = serde_json::json!({"type": "object", "required": ["temperature"], "properties": {"temperature": {"type": "number"}}});
        let check = RecordCheck { json, schema: json.then(|| config::RecordSchema { path: "s.json".into(), schema }), max_bytes: 200 };
        let gate = RecordGate::new(&check).unwrap();
        let verdict = gate.check(&bytes);
        if bytes.len() > 200 {
            prop_assert!(verdict.is_err());
        }
    }
}
