//! The checks every record passes as it leaves the transport, before the
//! transform sees it: size, UTF-8 JSON, and a JSON Schema when the pipeline
//! names one. A record that fails goes to the dead letters with the reason.

use crate::config::RecordCheck;
use crate::plugin_host::FfiField;

pub struct RecordGate {
    json: bool,
    max_bytes: u64,
    schema: Option<(String, jsonschema::Validator)>,
}

impl RecordGate {
    pub fn new(check: &RecordCheck) -> Result<RecordGate, String> {
        let schema = match &check.schema {
            None => None,
            Some(s) => {
                let validator = jsonschema::validator_for(&s.schema)
                    .map_err(|e| format!("{} is not a valid JSON Schema: {e}", s.path.display()))?;
                Some((s.path.display().to_string(), validator))
            }
        };
        Ok(RecordGate { json: check.json, max_bytes: check.max_bytes, schema })
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Why the record may not pass, if it may not. A record that passes as
    /// a flat JSON object has its members appended to `members` (then
    /// `Ok(true)`): the stages get them with it and read it no more.
    pub fn check(&self, payload: &[u8], members: &mut Vec<FfiField>) -> Result<bool, String> {
        if payload.len() as u64 > self.max_bytes {
            return Err(too_large(payload.len(), self.max_bytes));
        }
        if !self.json {
            return Ok(false);
        }
        let first = members.len();
        let indexed = buzz_sdk::fields::index_flat_json_object(payload, members);
        if indexed && self.schema.is_none() {
            // The common record, found valid UTF-8 and JSON in one quick pass.
            return Ok(true);
        }
        let text = std::str::from_utf8(payload).map_err(|e| format!("record is not valid UTF-8: {e}"))?;
        let Some((name, validator)) = &self.schema else {
            return serde_json::from_str::<serde::de::IgnoredAny>(text)
                .map(|_| false)
                .map_err(|e| format!("record is not valid JSON: {e}"));
        };
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("record is not valid JSON: {e}"))?;
        let problems: Vec<String> = validator
            .iter_errors(&value)
            .take(3)
            .map(|e| {
                let at = e.instance_path.as_str();
                if at.is_empty() { e.to_string() } else { format!("{at}: {e}") }
            })
            .collect();
        if problems.is_empty() {
            return Ok(indexed);
        }
        members.truncate(first);
        Err(format!("record does not follow {name}: {}", problems.join("; ")))
    }
}

/// Why a record of `len` bytes is refused (producer and consumer say the same).
pub fn too_large(len: usize, max_bytes: u64) -> String {
    format!("record is {len} bytes, more than max_record_bytes ({max_bytes})")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::RecordSchema;

    fn gate(json: bool, schema: Option<serde_json::Value>) -> RecordGate {
        let schema = schema.map(|schema| RecordSchema { path: "reading.schema.json".into(), schema });
        RecordGate::new(&RecordCheck { json, schema, max_bytes: 40 }).unwrap()
    }

    fn check(gate: &RecordGate, payload: &[u8]) -> Result<bool, String> {
        gate.check(payload, &mut Vec::new())
    }

    #[test]
    fn size_utf8_json_and_schema_are_checked_with_reasons() {
        let plain = gate(true, None);
        assert!(check(&plain, br#"{"a": 1}"#).is_ok());
        assert!(check(&plain, &[b'{', 0xff, b'}']).unwrap_err().starts_with("record is not valid UTF-8"));
        assert!(check(&plain, b"{\"a\": ").unwrap_err().starts_with("record is not valid JSON"));
        assert!(check(&plain, &[b' '; 41]).unwrap_err().contains("more than max_record_bytes (40)"));
        assert!(check(&gate(false, None), b"anything").is_ok());

        let typed =
            gate(true, Some(json!({"type": "object", "required": ["t"], "properties": {"t": {"type": "number"}}})));
        assert!(check(&typed, br#"{"t": 70.4}"#).is_ok());
        let err = check(&typed, br#"{"t": "hot"}"#).unwrap_err();
        assert!(err.starts_with("record does not follow reading.schema.json: /t:"), "{err}");
        assert!(check(&typed, br#"{"x": 1}"#).unwrap_err().contains("\"t\" is a required property"));
    }

    #[test]
    fn a_flat_object_that_passes_hands_its_members_on() {
        let typed = gate(true, Some(json!({"type": "object", "required": ["t"]})));
        for gate in [gate(true, None), typed] {
            let mut members = Vec::new();
            let record = br#"{"t": 70.4, "u": "F"}"#;
            assert_eq!(gate.check(record, &mut members), Ok(true));
            // Where the keys and the string are in the record, and the number.
            let (t, u) = (members[0], members[1]);
            assert_eq!((members.len(), t.key_at, t.key_len, u.key_at, u.text_at, u.text_len), (2, 2, 1, 13, 18, 1));
            assert_eq!((t.kind, t.number, u.kind), (buzz_abi::FIELD_NUMBER, 70.4, buzz_abi::FIELD_STRING));
            // Passed, but not flat: the stages read it themselves.
            assert_eq!(gate.check(br#"{"t": 1, "n": {"a": 1}}"#, &mut members), Ok(false));
            assert_eq!(members.len(), 2, "nothing added for a record that is not flat");
        }
        let mut members = Vec::new();
        let refused = gate(true, Some(json!({"required": ["x"]}))).check(br#"{"t": 1}"#, &mut members);
        assert!(refused.is_err() && members.is_empty(), "a refused record leaves no members");
        assert_eq!(gate(false, None).check(br#"{"t": 1}"#, &mut members), Ok(false), "no JSON check, no members");
    }
}
