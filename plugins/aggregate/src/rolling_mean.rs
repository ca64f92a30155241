//! `rolling_mean`: each record passed on with the mean of the latest
//! `window` values of its group added (sentiment over time with a rolling
//! mean per category). Unlike `average_by` it emits one record per record:
//! a line chart draws each one, at its own x.

use std::collections::{BTreeMap, VecDeque};

use buzz_sdk::categories::CategoryLimit;
use buzz_sdk::{JsonSchema, Output, Record, StageError, Transform};
use serde::Deserialize;

use crate::groups::{category_limit, group_and_value, group_key};

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("x-buzz-output" = {"input": true, "fields": ["{output_field}"]}))]
pub struct RollingMeanSettings {
    /// The field that names the group (e.g. "category").
    #[serde(default = "crate::groups::default_group")]
    #[schemars(extend("x-buzz-state" = true))]
    pub group: String,
    /// The numeric field averaged (e.g. "sentiment").
    #[serde(default = "crate::groups::default_value")]
    #[schemars(extend("x-buzz-state" = true))]
    pub value: String,
    /// How many of a group's latest values the mean covers.
    #[serde(default = "default_window")]
    #[schemars(range(min = 1, max = 10000))]
    pub window: usize,
    /// The field added to each record.
    #[serde(default = "default_output_field")]
    pub output_field: String,
    /// Most distinct groups kept; further groups share one window named
    /// "other" (with a warning), so the state stays bounded.
    #[serde(default = "buzz_sdk::categories::default_max_categories")]
    #[schemars(range(min = 1))]
    pub max_categories: usize,
}

fn default_window() -> usize {
    10
}

fn default_output_field() -> String {
    "rolling_mean".into()
}

/// Adds `"<output_field>": mean of the group's latest window values`.
pub struct RollingMean {
    settings: RollingMeanSettings,
    windows: BTreeMap<String, VecDeque<f64>>,
    limit: CategoryLimit,
}

impl Transform for RollingMean {
    const TYPE: &'static str = "rolling_mean";
    const DESCRIPTION: &'static str = "Passes each record on with \"rolling_mean\": the mean of the latest window values of its group (per category).";
    type Settings = RollingMeanSettings;

    fn new(settings: RollingMeanSettings) -> Result<Self, StageError> {
        if settings.window == 0 {
            return Err(StageError::setting("window", "must be at least 1"));
        }
        let limit = category_limit(settings.max_categories, format!("rolling_mean groups of {:?}", settings.group))?;
        Ok(RollingMean { settings, windows: BTreeMap::new(), limit })
    }

    fn process(&mut self, record: &Record<'_>, out: &mut Output) -> Result<(), String> {
        let s = &self.settings;
        let (group, value) = group_and_value(record, &s.group, &s.value)?;
        let key = group_key(&group, &s.group)?;
        let key = self.limit.name(&key, self.windows.contains_key(key.as_ref()), self.windows.len()).to_string();
        let window = self.windows.entry(key).or_default();
        if window.len() == s.window {
            window.pop_front();
        }
        window.push_back(value);
        let mean = window.iter().sum::<f64>() / window.len() as f64;
        out.emit_with_field(record, &s.output_field, &mean)
    }

    fn save_state(&self) -> Option<serde_json::Value> {
        serde_json::to_value(&self.windows).ok()
    }

    fn restore_state(&mut self, state: serde_json::Value) -> Result<(), String> {
        let mut windows: BTreeMap<String, VecDeque<f64>> =
            serde_json::from_value(state).map_err(|e| format!("invalid rolling_mean state: {e}"))?;
        // A smaller window keeps each group's newest values.
        for values in windows.values_mut() {
            let excess = values.len().saturating_sub(self.settings.window);
            values.drain(..excess);
        }
        self.windows = windows;
        Ok(())
    }

    // No `merge_state`: a rolling window is the latest values of one
    // ordered stream; two windows over different partitions do not make it.
}

#[cfg(test)]
mod tests {
    use buzz_sdk::testing::{TestRecord, TestStage};
    use serde_json::json;

    use super::*;

    fn scores(pairs: &[(&str, f64)]) -> Vec<TestRecord> {
        pairs.iter().map(|(c, s)| TestRecord::json(json!({"category": c, "sentiment": s}))).collect()
    }

    #[test]
    fn each_record_gets_the_mean_of_its_own_groups_latest_window() {
        let mut stage = TestStage::transform::<RollingMean>(json!({"window": 2})).unwrap();
        let out = stage.process(&scores(&[("tech", 1.0), ("food", 0.2), ("tech", 0.5), ("tech", 0.0)])).unwrap();
        let means: Vec<f64> = out.json().iter().map(|r| r["rolling_mean"].as_f64().unwrap()).collect();
        assert_eq!(means, [1.0, 0.2, 0.75, 0.25]);
        assert_eq!(out.json()[1]["category"], "food", "the input's fields are passed on");
    }

    #[test]
    fn a_restored_state_goes_on_where_it_stopped_and_a_smaller_window_keeps_the_newest() {
        let mut stage = TestStage::transform::<RollingMean>(json!({"window": 3})).unwrap();
        stage.process(&scores(&[("tech", 0.0), ("tech", 0.3), ("tech", 0.6)])).unwrap();
        let mut smaller = TestStage::transform::<RollingMean>(json!({"window": 2})).unwrap();
        smaller.restore_state(stage.save_state().unwrap()).unwrap();
        let out = smaller.process(&scores(&[("tech", 0.8)])).unwrap();
        assert!((out.json()[0]["rolling_mean"].as_f64().unwrap() - 0.7).abs() < 1e-9);
    }
}
