//! The `depth_class` transform: labels each event shallow, intermediate
//! or deep by focal depth, the classes seismologists use (shallow above
//! 70 km, deep below 300 km), and passes it on.

use buzz_sdk::{JsonSchema, Output, Record, StageError, Transform};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(extend("x-buzz-output" = {"input": true, "fields": ["{output_field}"]}))]
pub struct DepthClassSettings {
    /// The numeric field holding the depth in km.
    pub field: String,
    /// The text field added to each event.
    pub output_field: String,
    /// Depths down to this are "shallow", km.
    #[schemars(range(min = 0.0))]
    pub shallow_km: f64,
    /// Depths down to this (and below `shallow_km`) are "intermediate";
    /// deeper ones are "deep", km.
    #[schemars(range(min = 0.0))]
    pub deep_km: f64,
}

impl Default for DepthClassSettings {
    fn default() -> Self {
        DepthClassSettings {
            field: "depth_km".into(),
            output_field: "depth_class".into(),
            shallow_km: 70.0,
            deep_km: 300.0,
        }
    }
}

pub struct DepthClass {
    settings: DepthClassSettings,
}

impl DepthClass {
    fn class(&self, depth: f64) -> &'static str {
        if depth <= self.settings.shallow_km {
            "shallow"
        } else if depth <= self.settings.deep_km {
            "intermediate"
        } else {
            "deep"
        }
    }
}

impl Transform for DepthClass {
    const TYPE: &'static str = "depth_class";
    const DESCRIPTION: &'static str =
        "Adds \"depth_class\": \"shallow\" (to 70 km), \"intermediate\" (to 300 km) or \"deep\" to each earthquake.";
    type Settings = DepthClassSettings;

    fn new(settings: DepthClassSettings) -> Result<Self, StageError> {
        if settings.field.is_empty() {
            return Err(StageError::setting("field", "name the field holding the depth"));
        }
        if !(settings.shallow_km >= 0.0 && settings.shallow_km < settings.deep_km && settings.deep_km.is_finite()) {
            return Err(StageError::setting("deep_km", "must be deeper than shallow_km, which must be 0 or more"));
        }
        Ok(DepthClass { settings })
    }

    fn process(&mut self, record: &Record<'_>, out: &mut Output) -> Result<(), String> {
        let field = self.settings.field.as_str();
        let [depth] = record.pick([field])?;
        let depth = match depth {
            None => return Err(format!("event has no {field:?} field")),
            Some(value) => value
                .as_f64()
                .filter(|d| d.is_finite())
                .ok_or_else(|| format!("field {field:?} is {}, not a depth", value.kind()))?,
        };
        out.emit_with_field(record, &self.settings.output_field, &self.class(depth))
    }
}

#[cfg(test)]
mod tests {
    use buzz_sdk::testing::{TestRecord, TestStage};
    use serde_json::json;

    use super::*;

    #[test]
    fn classes_follow_the_depth_with_inclusive_limits() {
        let mut stage = TestStage::transform::<DepthClass>(json!({})).unwrap();
        let input: Vec<TestRecord> =
            [5.0, 70.0, 70.1, 300.0, 650.0].iter().map(|d| TestRecord::json(json!({"depth_km": d}))).collect();
        let classes: Vec<_> = stage.process(&input).unwrap().json().iter().map(|q| q["depth_class"].clone()).collect();
        assert_eq!(classes, ["shallow", "shallow", "intermediate", "intermediate", "deep"]);
    }

    #[test]
    fn the_event_passes_on_whole_and_bad_ones_are_dead_lettered() {
        let mut stage = TestStage::transform::<DepthClass>(json!({"output_field": "class"})).unwrap();
        let out = stage
            .process(&[
                TestRecord::json(json!({"id": "bz1", "depth_km": "12.5"})),
                TestRecord::json(json!({"id": "bz2"})),
                TestRecord::json(json!({"id": "bz3", "depth_km": true})),
            ])
            .unwrap();
        assert_eq!(out.json(), vec![json!({"id": "bz1", "depth_km": "12.5", "class": "shallow"})]);
        let reasons: Vec<_> = out.rejects.iter().map(|r| (r.input_index, r.reason.as_str())).collect();
        assert_eq!(
            reasons,
            [(Some(1), "event has no \"depth_km\" field"), (Some(2), "field \"depth_km\" is a boolean, not a depth")]
        );
    }

    #[test]
    fn limits_in_the_wrong_order_are_refused() {
        let err = TestStage::transform::<DepthClass>(json!({"shallow_km": 300, "deep_km": 70})).err().unwrap();
        assert_eq!(err.setting.as_deref(), Some("deep_km"));
    }
}
