use buzz_sdk::{JsonSchema, Output, Record, StageError, Transform};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("x-buzz-output" = {"input": true, "fields": []}))]
pub struct IdentitySettings {}

/// Passes every record on as it is (key and timestamp included).
pub struct Identity;

impl Transform for Identity {
    const TYPE: &'static str = "identity";
    const DESCRIPTION: &'static str = "Passes every record on unchanged.";
    type Settings = IdentitySettings;

    fn new(_: IdentitySettings) -> Result<Self, StageError> {
        Ok(Identity)
    }

    fn process(&mut self, record: &Record<'_>, out: &mut Output) -> Result<(), String> {
        out.emit(record.payload());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use buzz_sdk::testing::{TestRecord, TestStage};
    use serde_json::json;

    use super::*;

    #[test]
    fn records_pass_unchanged_with_their_timestamp() {
        let mut stage = TestStage::transform::<Identity>(json!({})).unwrap();
        let input = TestRecord { timestamp_ms: Some(42), ..TestRecord::bytes("not even JSON") };
        let out = stage.process(&[input]).unwrap();
        assert_eq!(out.records[0].payload, b"not even JSON");
        assert_eq!(out.records[0].timestamp_ms, Some(42));
    }
}
