//! The machinery both aggregates share: groups in first-seen order, records
//! applied in batches of `batch_size`, one update per changed group, and at
//! most `max_categories` groups (the rest folded into "other").

use std::collections::HashMap;

use buzz_sdk::Output;
use buzz_sdk::categories::CategoryLimit;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// What is kept per group.
pub trait Accumulator: Default + Clone + Serialize + DeserializeOwned {
    fn add(&mut self, value: f64);
    fn merge(&mut self, other: &Self);
}

/// Group names to their place. foldhash, seeded per map: a record's group
/// is looked up once per record, and SipHash made that a tenth of a count's
/// cost (BENCHMARKS section 1); the random seed keeps crafted keys from
/// colliding on purpose.
type Index = HashMap<String, usize, foldhash::fast::RandomState>;

/// Groups and their accumulators, in first-seen order.
#[derive(Clone, Serialize, serde::Deserialize)]
#[serde(bound = "")]
pub struct Groups<A: Accumulator> {
    keys: Vec<String>,
    values: Vec<A>,
    #[serde(skip)]
    index: Index,
}

impl<A: Accumulator> Default for Groups<A> {
    fn default() -> Self {
        Groups { keys: Vec::new(), values: Vec::new(), index: Index::default() }
    }
}

impl<A: Accumulator> Groups<A> {
    fn find(&self, key: &str) -> Option<usize> {
        self.index.get(key).copied()
    }

    /// Adds the group `key`, which is not here yet.
    fn push_new(&mut self, key: &str) -> usize {
        self.keys.push(key.to_owned());
        self.values.push(A::default());
        self.index.insert(key.to_owned(), self.keys.len() - 1);
        self.keys.len() - 1
    }

    fn slot(&mut self, key: &str) -> usize {
        self.find(key).unwrap_or_else(|| self.push_new(key))
    }

    fn rebuild_index(&mut self) {
        self.index = self.keys.iter().enumerate().map(|(i, k)| (k.clone(), i)).collect();
    }

    fn clear(&mut self) {
        self.keys.clear();
        self.values.clear();
        self.index.clear();
    }
}

/// The groups changed since they were last emitted, in the order they
/// changed, each once.
#[derive(Clone, Default)]
struct Changed {
    order: Vec<usize>,
    flagged: Vec<bool>,
}

impl Changed {
    fn mark(&mut self, i: usize) {
        if i >= self.flagged.len() {
            self.flagged.resize(i + 1, false);
        }
        if !self.flagged[i] {
            self.flagged[i] = true;
            self.order.push(i);
        }
    }

    fn mark_all(&mut self, n: usize) {
        (0..n).for_each(|i| self.mark(i));
    }

    /// All of them, unmarked (even if the caller stops early).
    fn drain(&mut self) -> std::vec::Drain<'_, usize> {
        for &i in &self.order {
            self.flagged[i] = false;
        }
        self.order.drain(..)
    }
}

/// Running aggregates with batched application.
#[derive(Clone, Serialize, serde::Deserialize)]
#[serde(bound = "")]
pub struct Aggregator<A: Accumulator> {
    totals: Groups<A>,
    /// Records taken but not yet applied (fewer than `batch_size`).
    pending: Groups<A>,
    pending_records: usize,
    #[serde(skip)]
    changed: Changed,
    #[serde(skip)]
    batch_size: usize,
    #[serde(skip)]
    limit: CategoryLimit,
    /// Groups in `pending` that `totals` does not hold yet: they count
    /// towards the limit too.
    #[serde(skip)]
    pending_new: usize,
}

impl<A: Accumulator> Aggregator<A> {
    pub fn new(batch_size: usize, limit: CategoryLimit) -> Self {
        Aggregator {
            totals: Groups::default(),
            pending: Groups::default(),
            pending_records: 0,
            changed: Changed::default(),
            batch_size: batch_size.max(1),
            limit,
            pending_new: 0,
        }
    }

    /// The pending group `key` goes into: its own, or "other" past the limit.
    fn pending_slot(&mut self, key: &str) -> usize {
        if let Some(i) = self.pending.find(key) {
            return i;
        }
        let known = self.totals.index.contains_key(key);
        let key = self.limit.name(key, known, self.totals.keys.len() + self.pending_new);
        if let Some(i) = self.pending.find(key) {
            return i;
        }
        if !self.totals.index.contains_key(key) {
            self.pending_new += 1;
        }
        self.pending.push_new(key)
    }

    /// The total group `key` goes into: its own, or "other" past the limit.
    fn totals_slot(&mut self, key: &str) -> usize {
        if let Some(i) = self.totals.find(key) {
            return i;
        }
        let key = self.limit.name(key, false, self.totals.keys.len());
        self.totals.slot(key)
    }

    /// Takes one record's value for `key`; applies the pending batch when full.
    pub fn add(&mut self, key: &str, value: f64) {
        if self.batch_size == 1 {
            // A batch of one (the default) is applied as it is taken: the
            // record goes straight to its total, with no pending group.
            let i = self.totals_slot(key);
            self.totals.values[i].add(value);
            self.changed.mark(i);
            return;
        }
        let i = self.pending_slot(key);
        self.pending.values[i].add(value);
        self.pending_records += 1;
        if self.pending_records >= self.batch_size {
            self.apply_pending();
        }
    }

    /// Applies whatever is pending, full batch or not.
    pub fn apply_pending(&mut self) {
        let mut pending = std::mem::take(&mut self.pending);
        self.pending_new = 0;
        self.pending_records = 0;
        self.merge_totals(&pending);
        // Emptied, not dropped: the next batch reuses its allocations.
        pending.clear();
        self.pending = pending;
    }

    /// Merges `groups` into the totals, marking each changed.
    fn merge_totals(&mut self, groups: &Groups<A>) {
        for (key, value) in groups.keys.iter().zip(&groups.values) {
            let i = self.totals_slot(key);
            self.totals.values[i].merge(value);
            self.changed.mark(i);
        }
    }

    /// Merges `groups` into the pending batch.
    fn merge_pending(&mut self, groups: &Groups<A>) {
        for (key, value) in groups.keys.iter().zip(&groups.values) {
            let i = self.pending_slot(key);
            self.pending.values[i].merge(value);
        }
    }

    /// Emits one update per group changed since the last call.
    pub fn emit_changed(
        &mut self,
        out: &mut Output,
        mut update: impl FnMut(&str, &A, &mut Output) -> Result<(), String>,
    ) -> Result<(), String> {
        for i in self.changed.drain() {
            update(&self.totals.keys[i], &self.totals.values[i], out)?;
        }
        Ok(())
    }

    pub fn save(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// Takes the groups from a saved state, keeping this stage's settings
    /// (a state with more groups than this stage's limit is folded).
    pub fn restore(&mut self, state: serde_json::Value) -> Result<(), String> {
        let mut saved: Aggregator<A> =
            serde_json::from_value(state).map_err(|e| format!("invalid saved state: {e}"))?;
        saved.totals.rebuild_index();
        saved.pending.rebuild_index();
        self.totals.clear();
        self.pending.clear();
        self.changed = Changed::default();
        self.pending_new = 0;
        self.merge_totals(&saved.totals);
        self.merge_pending(&saved.pending);
        self.pending_records = saved.pending_records;
        // Re-announce everything so a rebuilt chart downstream is complete.
        self.changed.mark_all(self.totals.keys.len());
        if self.pending_records >= self.batch_size {
            self.apply_pending();
        }
        Ok(())
    }

    /// Folds in another instance's saved state (another partition's, say):
    /// totals merge per key with [`Accumulator::merge`], keys new here
    /// joining after this instance's own in the other's first-seen order.
    /// Every key the other's totals hold is marked changed, so the next
    /// [`emit_changed`](Self::emit_changed) re-announces its merged total.
    /// The other's pending records join this instance's pending batch,
    /// which is applied if that makes it full. An invalid state changes
    /// nothing.
    pub fn merge(&mut self, state: serde_json::Value) -> Result<(), String> {
        let other: Aggregator<A> = serde_json::from_value(state).map_err(|e| format!("invalid state to merge: {e}"))?;
        if other.totals.keys.len() != other.totals.values.len()
            || other.pending.keys.len() != other.pending.values.len()
        {
            return Err("invalid state to merge: keys and values differ in number".into());
        }
        self.merge_totals(&other.totals);
        self.merge_pending(&other.pending);
        self.pending_records += other.pending_records;
        if self.pending_records >= self.batch_size {
            self.apply_pending();
        }
        Ok(())
    }
}

/// The group key of a record: the text of `field`, or why there is none.
/// The group field both aggregates of sentiment default to.
pub fn default_group() -> String {
    "category".into()
}

/// The value field both aggregates of sentiment default to.
pub fn default_value() -> String {
    "sentiment".into()
}

/// A record's group field (checked to name a group: see [`group_key`])
/// and numeric value, as both aggregates by group read them, or why not.
pub fn group_and_value<'a>(
    record: &buzz_sdk::Record<'a>,
    group: &str,
    value: &str,
) -> Result<(Option<buzz_sdk::fields::Scalar<'a>>, f64), String> {
    let [key, number] = record.pick([group, value])?;
    group_key(&key, group)?;
    let number = match &number {
        None => return Err(format!("record has no {value:?} field")),
        Some(v) => v
            .as_f64()
            .filter(|x| x.is_finite())
            .ok_or_else(|| format!("field {value:?} is {}, not a number", v.kind()))?,
    };
    Ok((key, number))
}

/// The bound on groups from a `max_categories` setting (at least 1).
pub fn category_limit(max_categories: usize, what: String) -> Result<CategoryLimit, buzz_sdk::StageError> {
    if max_categories == 0 {
        return Err(buzz_sdk::StageError::setting("max_categories", "must be at least 1"));
    }
    Ok(CategoryLimit::new(max_categories, what))
}

pub fn group_key<'a>(
    value: &'a Option<buzz_sdk::fields::Scalar<'a>>,
    field: &str,
) -> Result<std::borrow::Cow<'a, str>, String> {
    match value {
        None => Err(format!("record has no {field:?} field")),
        Some(v) => v.to_text().ok_or_else(|| format!("field {field:?} is {}, not a string or number", v.kind())),
    }
}
