//! The checks every record passes as it leaves the transport, before the
//! transform sees it: size, UTF-8 JSON, and a JSON Schema when the pipeline
//! names one. A record that fails goes to the dead letters with the reason.

use crate::config::RecordCheck;

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

    /// Why the record may not pass, if it may not.
    pub fn check(&self, payload: &[u8]) -> Result<(), String> {
        if payload.len() as u64 > self.max_bytes {
            return Err(too_large(payload.len(), self.max_bytes));
        }
        if !self.json {
            return Ok(());
        }
        if self.schema.is_none() && buzz_sdk::fields::is_flat_json_object(payload) {
            // The common record, found valid UTF-8 and JSON in one quick pass.
            return Ok(());
        }
        let text = std::str::from_utf8(payload).map_err(|e| format!("record is not valid UTF-8: {e}"))?;
        let Some((name, validator)) = &self.schema else {
            return serde_json::from_str::<serde::de::IgnoredAny>(text)
                .map(|_| ())
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
            Ok(())
        } else {
            Err(format!("record does not follow {name}: {}", problems.join("; ")))
        }
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

    #[test]
    fn size_utf8_json_and_schema_are_checked_with_reasons() {
        let plain = gate(true, None);
        assert!(plain.check(br#"{"a": 1}"#).is_ok());
        assert!(plain.check(&[b'{', 0xff, b'}']).unwrap_err().starts_with("record is not valid UTF-8"));
        assert!(plain.check(b"{\"a\": ").unwrap_err().starts_with("record is not valid JSON"));
        assert!(plain.check(&[b' '; 41]).unwrap_err().contains("more than max_record_bytes (40)"));
        assert!(gate(false, None).check(b"anything").is_ok());

        let typed =
            gate(true, Some(json!({"type": "object", "required": ["t"], "properties": {"t": {"type": "number"}}})));
        assert!(typed.check(br#"{"t": 70.4}"#).is_ok());
        let err = typed.check(br#"{"t": "hot"}"#).unwrap_err();
        assert!(err.starts_with("record does not follow reading.schema.json: /t:"), "{err}");
        assert!(typed.check(br#"{"x": 1}"#).unwrap_err().contains("\"t\" is a required property"));
    }
}
