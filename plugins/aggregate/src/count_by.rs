use buzz_sdk::categories::CategoryLimit;
use buzz_sdk::{JsonSchema, Output, Record, StageError, Transform};
use serde::{Deserialize, Serialize};

use crate::groups::{Accumulator, Aggregator, group_key};

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("x-buzz-output" = {"fields": ["{field}", "count"]}))]
pub struct CountBySettings {
    /// The field whose values are counted (e.g. "author").
    #[serde(default = "default_field")]
    #[schemars(extend("x-buzz-state" = true))]
    pub field: String,
    /// Apply records in batches of this many (1 updates the counts at
    /// every record; 5 is the "batches of 5" exploration).
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

fn default_field() -> String {
    "author".into()
}

fn one() -> usize {
    1
}

#[derive(Default, Clone, Serialize, Deserialize)]
pub struct Count(u64);

impl Accumulator for Count {
    fn add(&mut self, _value: f64) {
        self.0 += 1;
    }
    fn merge(&mut self, other: &Self) {
        self.0 += other.0;
    }
}

/// Counts records per value of a field; emits `{"<field>": value, "count": n}`.
pub struct CountBy {
    field: String,
    counts: Aggregator<Count>,
}

impl Transform for CountBy {
    const TYPE: &'static str = "count_by";
    const DESCRIPTION: &'static str = "Counts records per value of a field; emits {\"<field>\": value, \"count\": running total} for each changed value.";
    type Settings = CountBySettings;

    fn new(settings: CountBySettings) -> Result<Self, StageError> {
        if settings.batch_size == 0 {
            return Err(StageError::setting("batch_size", "must be at least 1"));
        }
        if settings.max_categories == 0 {
            return Err(StageError::setting("max_categories", "must be at least 1"));
        }
        let limit = CategoryLimit::new(settings.max_categories, format!("count_by groups of {:?}", settings.field));
        Ok(CountBy { field: settings.field, counts: Aggregator::new(settings.batch_size, limit) })
    }

    fn process(&mut self, record: &Record<'_>, _out: &mut Output) -> Result<(), String> {
        let [value] = record.pick([self.field.as_str()])?;
        let key = group_key(&value, &self.field)?;
        self.counts.add(&key, 1.0);
        Ok(())
    }

    fn end_batch(&mut self, out: &mut Output) -> Result<(), String> {
        let field = &self.field;
        self.counts
            .emit_changed(out, |key, count, out| out.emit_json(&serde_json::json!({ field: key, "count": count.0 })))
    }

    fn flush(&mut self, out: &mut Output) -> Result<(), String> {
        self.counts.apply_pending();
        self.end_batch(out)
    }

    fn save_state(&self) -> Option<serde_json::Value> {
        Some(self.counts.save())
    }

    fn restore_state(&mut self, state: serde_json::Value) -> Result<(), String> {
        self.counts.restore(state)
    }

    /// Counts add per value; the next batch re-announces every value the
    /// other instance counted, with its merged count.
    fn merge_state(&mut self, other: serde_json::Value) -> Result<(), String> {
        self.counts.merge(other)
    }
}

#[cfg(test)]
mod tests {
    use buzz_sdk::testing::{TestRecord, TestStage};
    use serde_json::json;

    use super::*;

    fn messages(authors: &[&str]) -> Vec<TestRecord> {
        authors
            .iter()
            .map(|a| TestRecord::json(json!({"message": "I just saw a meme! It was weird.", "author": a})))
            .collect()
    }

    #[test]
    fn counts_per_author_with_one_update_per_changed_author_per_batch() {
        let mut stage = TestStage::transform::<CountBy>(json!({})).unwrap();
        let out = stage.process(&messages(&["Alice", "Bob", "Alice"])).unwrap();
        assert_eq!(out.json(), vec![json!({"author": "Alice", "count": 2}), json!({"author": "Bob", "count": 1})]);
        let out = stage.process(&messages(&["Bob"])).unwrap();
        assert_eq!(out.json(), vec![json!({"author": "Bob", "count": 2})]);
    }

    #[test]
    fn records_without_the_field_are_rejected_and_others_counted() {
        let mut stage = TestStage::transform::<CountBy>(json!({})).unwrap();
        let mut input = messages(&["Eve"]);
        input.push(TestRecord::json(json!({"message": "no author"})));
        input.push(TestRecord::bytes("not json"));
        input.push(TestRecord::json(json!({"author": {"nested": 1}})));
        let out = stage.process(&input).unwrap();
        assert_eq!(out.json(), vec![json!({"author": "Eve", "count": 1})]);
        let reasons: Vec<_> = out.rejects.iter().map(|r| (r.input_index, r.reason.clone())).collect();
        assert_eq!(reasons[0], (Some(1), "record has no \"author\" field".to_string()));
        assert_eq!(reasons[1].0, Some(2));
        assert!(reasons[1].1.starts_with("invalid JSON record"), "{}", reasons[1].1);
        assert_eq!(reasons[2], (Some(3), "field \"author\" is an object or array, not a string or number".to_string()));
    }

    #[test]
    fn batches_of_five_update_only_when_five_have_arrived_and_flush_the_rest() {
        let mut stage = TestStage::transform::<CountBy>(json!({"batch_size": 5})).unwrap();
        assert!(stage.process(&messages(&["Alice", "Bob", "Alice", "Eve"])).unwrap().records.is_empty());
        let out = stage.process(&messages(&["Alice", "Bob"])).unwrap();
        assert_eq!(
            out.json(),
            vec![
                json!({"author": "Alice", "count": 3}),
                json!({"author": "Bob", "count": 1}),
                json!({"author": "Eve", "count": 1})
            ]
        );
        // The sixth record waits for four more, until the input ends.
        let out = stage.flush().unwrap();
        assert_eq!(out.json(), vec![json!({"author": "Bob", "count": 2})]);
    }

    #[test]
    fn counts_survive_a_rebuild_with_new_settings() {
        let mut old = TestStage::transform::<CountBy>(json!({})).unwrap();
        old.process(&messages(&["Alice", "Alice", "Bob"])).unwrap();
        let mut new = TestStage::transform::<CountBy>(json!({"batch_size": 2})).unwrap();
        new.restore_state(old.save_state().unwrap()).unwrap();
        let out = new.process(&messages(&["Alice", "Charlie"])).unwrap();
        assert_eq!(
            out.json(),
            vec![
                json!({"author": "Alice", "count": 3}),
                json!({"author": "Bob", "count": 1}),
                json!({"author": "Charlie", "count": 1})
            ]
        );
    }

    #[test]
    fn two_halves_merged_count_what_one_stage_fed_all_counts() {
        let first = ["Alice", "Bob", "Alice", "Eve"];
        let second = ["Bob", "Carol", "Alice", "Bob"];
        let mut one = TestStage::transform::<CountBy>(json!({})).unwrap();
        one.process(&messages(&first)).unwrap();
        one.process(&messages(&second)).unwrap();

        let mut a = TestStage::transform::<CountBy>(json!({})).unwrap();
        a.process(&messages(&first)).unwrap();
        let mut b = TestStage::transform::<CountBy>(json!({})).unwrap();
        b.process(&messages(&second)).unwrap();
        a.merge_state(b.save_state().unwrap()).unwrap();

        assert_eq!(a.save_state(), one.save_state());
        // An empty batch re-announces every group the other half counted,
        // with the merged totals; Eve, counted here alone, is unchanged.
        assert_eq!(
            a.process(&[]).unwrap().json(),
            vec![
                json!({"author": "Bob", "count": 3}),
                json!({"author": "Carol", "count": 1}),
                json!({"author": "Alice", "count": 3})
            ]
        );
        assert!(a.process(&[]).unwrap().records.is_empty(), "announced once");
    }

    #[test]
    fn held_back_records_of_both_halves_join_one_batch() {
        let mut a = TestStage::transform::<CountBy>(json!({"batch_size": 5})).unwrap();
        a.process(&messages(&["Alice", "Bob", "Alice"])).unwrap();
        let mut b = TestStage::transform::<CountBy>(json!({"batch_size": 5})).unwrap();
        b.process(&messages(&["Bob", "Eve"])).unwrap();
        a.merge_state(b.save_state().unwrap()).unwrap();
        // 3 + 2 held back make a full batch of 5.
        assert_eq!(
            a.process(&[]).unwrap().json(),
            vec![
                json!({"author": "Alice", "count": 2}),
                json!({"author": "Bob", "count": 2}),
                json!({"author": "Eve", "count": 1})
            ]
        );
    }

    #[test]
    fn values_past_max_categories_are_counted_as_other_in_the_counts_the_state_and_a_merge() {
        let settings = json!({"max_categories": 2, "batch_size": 3});
        let mut stage = TestStage::transform::<CountBy>(settings.clone()).unwrap();
        stage.process(&messages(&["Alice", "Bob", "Carol", "Alice", "Dave", "Bob"])).unwrap();
        let totals = |stage: &TestStage| stage.save_state().unwrap()["totals"]["keys"].clone();
        assert_eq!(totals(&stage), json!(["Alice", "Bob", "other"]));
        assert_eq!(stage.save_state().unwrap()["totals"]["values"], json!([2, 2, 2]));

        // Another partition's groups are folded the same way when merged,
        // and so is a saved state with more groups than the limit.
        let mut other = TestStage::transform::<CountBy>(json!({})).unwrap();
        other.process(&messages(&["Eve", "Bob", "Frank"])).unwrap();
        stage.merge_state(other.save_state().unwrap()).unwrap();
        assert_eq!(totals(&stage), json!(["Alice", "Bob", "other"]));
        assert_eq!(stage.save_state().unwrap()["totals"]["values"], json!([2, 3, 4]));
        let mut restored = TestStage::transform::<CountBy>(settings).unwrap();
        restored.restore_state(other.save_state().unwrap()).unwrap();
        assert_eq!(totals(&restored), json!(["Eve", "Bob", "other"]));
    }

    #[test]
    fn a_state_that_is_not_counts_is_refused_and_changes_nothing() {
        let mut a = TestStage::transform::<CountBy>(json!({})).unwrap();
        a.process(&messages(&["Alice"])).unwrap();
        let before = a.save_state();
        let error =
            a.merge_state(json!({"totals": {"keys": ["Bob"], "values": [{"sum": 1.0, "count": 1}]}})).unwrap_err();
        assert!(error.starts_with("invalid state to merge"), "{error}");
        assert_eq!(a.save_state(), before);
    }
}
