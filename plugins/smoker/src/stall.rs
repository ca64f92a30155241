use buzz_sdk::log;
use buzz_sdk::{JsonSchema, Output, Record, StageError, Transform};
use serde::Deserialize;

use crate::window::Window;

/// Differences this small are float noise, not temperature: 142.1 - 141.9
/// must count as exactly 0.2.
const EPSILON: f64 = 1e-9;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("x-buzz-output" = {"input": true, "fields": ["{output_field}"]}))]
pub struct StallSettings {
    /// How many of the latest readings to compare (the original's
    /// SMOKER_ROLLING_WINDOW_SIZE).
    #[serde(default = "default_window")]
    #[schemars(range(min = 2))]
    pub window: usize,
    /// A stall is a full window whose max - min is at most this many degrees
    /// (the original's SMOKER_STALL_THRESHOLD_F).
    #[serde(default = "default_threshold")]
    #[schemars(range(min = 0.0))]
    pub threshold: f64,
    /// The numeric field holding the temperature.
    #[serde(default = "default_field")]
    #[schemars(extend("x-buzz-state" = true))]
    pub field: String,
    /// The boolean field added to each record.
    #[serde(default = "default_output_field")]
    pub output_field: String,
}

fn default_window() -> usize {
    10
}

fn default_threshold() -> f64 {
    0.2
}

fn default_field() -> String {
    "temperature".into()
}

fn default_output_field() -> String {
    "stall".into()
}

/// Marks each reading `"stall": true|false`: true when the window of the
/// latest readings is full and barely moves.
pub struct StallDetection {
    settings: StallSettings,
    window: Window,
}

impl Transform for StallDetection {
    const TYPE: &'static str = "stall_detection";
    const DESCRIPTION: &'static str = "Adds \"stall\": true to each reading whose rolling window (window readings) varies by at most threshold degrees.";
    type Settings = StallSettings;

    fn new(settings: StallSettings) -> Result<Self, StageError> {
        if settings.window < 2 {
            return Err(StageError::setting("window", "must be at least 2 readings"));
        }
        if !(settings.threshold >= 0.0 && settings.threshold.is_finite()) {
            return Err(StageError::setting("threshold", "must be a number of degrees, 0 or more"));
        }
        Ok(StallDetection { window: Window::new(settings.window), settings })
    }

    fn process(&mut self, record: &Record<'_>, out: &mut Output) -> Result<(), String> {
        let field = self.settings.field.as_str();
        // Matched where it lies: moving the picked value out of its Result
        // cost a store-forwarding stall per reading.
        let picked = record.pick([field]);
        let temperature = match &picked {
            Err(e) => return Err(e.clone()),
            Ok([None]) => return Err(format!("reading has no {field:?} field")),
            Ok([Some(v)]) => v
                .as_f64()
                .filter(|t| t.is_finite())
                .ok_or_else(|| format!("field {field:?} is {}, not a temperature", v.kind()))?,
        };
        self.window.push(temperature);
        let stall = self.window.is_full() && self.window.range() <= self.settings.threshold + EPSILON;
        if stall {
            log::debug!("stall detected at {temperature} (window range {:.3})", self.window.range());
        }
        out.emit_with_field(record, &self.settings.output_field, &stall)
    }

    fn save_state(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({ "window": self.window.values().collect::<Vec<_>>() }))
    }

    fn restore_state(&mut self, state: serde_json::Value) -> Result<(), String> {
        let values: Vec<f64> =
            serde_json::from_value(state["window"].clone()).map_err(|e| format!("invalid saved window: {e}"))?;
        // A new window size keeps the newest readings that fit.
        self.window = Window::from_values(self.settings.window, values);
        Ok(())
    }

    // No `merge_state`: the default refuses. A stall is a run of consecutive
    // readings of one smoker, so two windows over different parts of the
    // input do not make the window one stage that saw both would hold (and
    // the readings' interleaving is not in the state).
}

#[cfg(test)]
mod tests {
    use buzz_sdk::fields::Scalar;
    use buzz_sdk::testing::{TestRecord, TestStage};
    use serde_json::json;

    use super::*;

    fn readings(temps: &[f64]) -> Vec<TestRecord> {
        temps.iter().map(|t| TestRecord::json(json!({"timestamp": "2025-01-01 10:00:00", "temperature": t}))).collect()
    }

    fn stalls(stage: &mut TestStage, temps: &[f64]) -> Vec<bool> {
        let out = stage.process(&readings(temps)).unwrap();
        assert!(out.rejects.is_empty(), "{:?}", out.rejects);
        out.json().iter().map(|r| r["stall"].as_bool().unwrap()).collect()
    }

    fn stage(settings: serde_json::Value) -> TestStage {
        TestStage::transform::<StallDetection>(settings).unwrap()
    }

    #[test]
    fn no_stall_until_the_window_is_full() {
        let mut s = stage(json!({"window": 3}));
        assert_eq!(stalls(&mut s, &[100.0, 100.0]), [false, false]);
        assert_eq!(stalls(&mut s, &[100.0]), [true]);
    }

    #[test]
    fn a_range_exactly_at_the_threshold_is_a_stall_and_just_above_is_not() {
        let mut s = stage(json!({"window": 3, "threshold": 0.2}));
        assert_eq!(stalls(&mut s, &[141.9, 142.1, 142.0]), [false, false, true]);
        let mut s = stage(json!({"window": 3, "threshold": 0.2}));
        assert_eq!(stalls(&mut s, &[141.9, 142.11, 142.0]), [false, false, false]);
    }

    #[test]
    fn a_stall_ends_when_the_temperature_moves_again() {
        let mut s = stage(json!({"window": 3}));
        assert_eq!(
            stalls(&mut s, &[150.0, 150.1, 150.0, 150.1, 151.0, 152.0]),
            [false, false, true, true, false, false]
        );
    }

    #[test]
    fn the_reading_is_passed_on_with_the_flag_added() {
        let mut s = stage(json!({}));
        let out = s.process(&readings(&[70.4])).unwrap();
        assert_eq!(out.json(), vec![json!({"timestamp": "2025-01-01 10:00:00", "temperature": 70.4, "stall": false})]);
        // With the reading's members, the flag added: the chart reads none
        // of the bytes again.
        let members = out.members[0].clone().expect("the members are handed on");
        let names: Vec<&str> = members.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["timestamp", "temperature", "stall"]);
        assert_eq!((&members[1].1, &members[2].1), (&Scalar::Num(70.4), &Scalar::Bool(false)));
    }

    #[test]
    fn bad_readings_are_rejected_and_do_not_enter_the_window() {
        let mut s = stage(json!({"window": 2}));
        let mut input = readings(&[100.0]);
        input.push(TestRecord::json(json!({"temperature": "hot"})));
        input.push(TestRecord::json(json!({"time": 1})));
        input.extend(readings(&[100.0]));
        let out = s.process(&input).unwrap();
        assert_eq!(out.rejects.len(), 2);
        assert_eq!(out.rejects[0].reason, "field \"temperature\" is a string, not a temperature");
        assert_eq!(out.rejects[1].reason, "reading has no \"temperature\" field");
        assert_eq!(out.json()[1]["stall"], json!(true));
    }

    #[test]
    fn the_window_survives_a_rebuild_and_a_smaller_window_keeps_the_newest() {
        let mut old = stage(json!({"window": 4}));
        stalls(&mut old, &[90.0, 100.0, 100.1, 100.0]);
        let mut new = stage(json!({"window": 3}));
        new.restore_state(old.save_state().unwrap()).unwrap();
        assert_eq!(stalls(&mut new, &[100.1]), [true]);
    }

    #[test]
    fn invalid_settings_name_the_setting() {
        let err = TestStage::transform::<StallDetection>(json!({"window": 1})).err().unwrap();
        assert_eq!(err.setting.as_deref(), Some("window"));
        let err = TestStage::transform::<StallDetection>(json!({"threshold": -1.0})).err().unwrap();
        assert_eq!(err.setting.as_deref(), Some("threshold"));
    }
}
