use buzz_sdk::{JsonSchema, Output, Record, StageError, Transform};
use serde::{Deserialize, Serialize};

use crate::groups::{Accumulator, Aggregator, category_limit, group_and_value, group_key};

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("x-buzz-output" = {"fields": ["{group}", "average", "count"]}))]
pub struct AverageBySettings {
    /// The field that names the group (e.g. "category").
    #[serde(default = "crate::groups::default_group")]
    #[schemars(extend("x-buzz-state" = true))]
    pub group: String,
    /// The numeric field averaged per group (e.g. "sentiment").
    #[serde(default = "crate::groups::default_value")]
    #[schemars(extend("x-buzz-state" = true))]
    pub value: String,
    /// Apply records in batches of this many.
    #[serde(default = "one")]
    #[schemars(range(min = 1))]
    pub batch_size: usize,
    /// Most distinct groups kept; records of further groups are counted
    /// in one group named "other" (with a warning), so untrusted data
    /// cannot grow the state, the updates and the chart without bound.
    #[serde(default = "buzz_sdk::categories::default_max_categories")]
    #[schemars(range(min = 1))]
    pub max_categories: usize,
}

fn one() -> usize {
    1
}

#[derive(Default, Clone, Serialize, Deserialize)]
pub struct Mean {
    sum: f64,
    count: u64,
}

impl Mean {
    pub fn average(&self) -> f64 {
        if self.count == 0 { 0.0 } else { self.sum / self.count as f64 }
    }
}

impl Accumulator for Mean {
    fn add(&mut self, value: f64) {
        self.sum += value;
        self.count += 1;
    }
    fn merge(&mut self, other: &Self) {
        self.sum += other.sum;
        self.count += other.count;
    }
}

/// Averages a numeric field per group; emits
/// `{"<group>": name, "average": mean, "count": n}`.
pub struct AverageBy {
    settings: AverageBySettings,
    means: Aggregator<Mean>,
}

impl Transform for AverageBy {
    const TYPE: &'static str = "average_by";
    const DESCRIPTION: &'static str = "Averages a numeric field per group; emits {\"<group>\": name, \"average\": running mean, \"count\": n} for each changed group.";
    type Settings = AverageBySettings;

    fn new(settings: AverageBySettings) -> Result<Self, StageError> {
        if settings.batch_size == 0 {
            return Err(StageError::setting("batch_size", "must be at least 1"));
        }
        let limit = category_limit(settings.max_categories, format!("average_by groups of {:?}", settings.group))?;
        Ok(AverageBy { means: Aggregator::new(settings.batch_size, limit), settings })
    }

    fn process(&mut self, record: &Record<'_>, _out: &mut Output) -> Result<(), String> {
        let s = &self.settings;
        let (group, value) = group_and_value(record, &s.group, &s.value)?;
        self.means.add(&group_key(&group, &s.group)?, value);
        Ok(())
    }

    fn end_batch(&mut self, out: &mut Output) -> Result<(), String> {
        let group = &self.settings.group;
        self.means.emit_changed(out, |key, mean, out| {
            out.emit_json(&serde_json::json!({ group: key, "average": mean.average(), "count": mean.count }))
        })
    }

    fn flush(&mut self, out: &mut Output) -> Result<(), String> {
        self.means.apply_pending();
        self.end_batch(out)
    }

    fn save_state(&self) -> Option<serde_json::Value> {
        Some(self.means.save())
    }

    fn restore_state(&mut self, state: serde_json::Value) -> Result<(), String> {
        self.means.restore(state)
    }

    /// Means combine by sum and count; the next batch re-announces every
    /// group the other instance saw, with its merged average.
    fn merge_state(&mut self, other: serde_json::Value) -> Result<(), String> {
        self.means.merge(other)
    }
}

#[cfg(test)]
mod tests {
    use buzz_sdk::testing::{TestRecord, TestStage};
    use serde_json::json;

    use super::*;

    #[test]
    fn averages_per_category() {
        let mut stage = TestStage::transform::<AverageBy>(json!({})).unwrap();
        let input: Vec<_> = [("tech", 0.5), ("food", 0.2), ("tech", 1.0)]
            .iter()
            .map(|(c, s)| TestRecord::json(json!({"category": c, "sentiment": s})))
            .collect();
        let out = stage.process(&input).unwrap();
        assert_eq!(
            out.json(),
            vec![
                json!({"category": "tech", "average": 0.75, "count": 2}),
                json!({"category": "food", "average": 0.2, "count": 1})
            ]
        );
    }

    #[test]
    fn non_numeric_values_are_rejected() {
        let mut stage = TestStage::transform::<AverageBy>(json!({})).unwrap();
        let out = stage
            .process(&[
                TestRecord::json(json!({"category": "tech", "sentiment": "high"})),
                TestRecord::json(json!({"category": "tech"})),
            ])
            .unwrap();
        assert!(out.records.is_empty());
        assert_eq!(out.rejects[0].reason, "field \"sentiment\" is a string, not a number");
        assert_eq!(out.rejects[1].reason, "record has no \"sentiment\" field");
    }

    fn scores(pairs: &[(&str, f64)]) -> Vec<TestRecord> {
        pairs.iter().map(|(c, s)| TestRecord::json(json!({"category": c, "sentiment": s}))).collect()
    }

    #[test]
    fn two_halves_merged_average_by_sum_and_count_like_one_stage_fed_all() {
        let first = scores(&[("tech", 1.0), ("food", 0.25), ("tech", 0.5)]);
        let second = scores(&[("tech", -0.75), ("news", 0.5), ("food", 0.75), ("food", 0.5)]);
        let mut one = TestStage::transform::<AverageBy>(json!({})).unwrap();
        one.process(&first).unwrap();
        one.process(&second).unwrap();

        let mut a = TestStage::transform::<AverageBy>(json!({})).unwrap();
        a.process(&first).unwrap();
        let mut b = TestStage::transform::<AverageBy>(json!({})).unwrap();
        b.process(&second).unwrap();
        a.merge_state(b.save_state().unwrap()).unwrap();

        assert_eq!(a.save_state(), one.save_state());
        // tech: (1 + 0.5 - 0.75) / 3, not the mean of the halves' means.
        assert_eq!(
            a.process(&[]).unwrap().json(),
            vec![
                json!({"category": "tech", "average": 0.25, "count": 3}),
                json!({"category": "news", "average": 0.5, "count": 1}),
                json!({"category": "food", "average": 0.5, "count": 3})
            ]
        );
    }
}
