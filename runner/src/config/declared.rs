//! What a stage declares about itself in its settings schema, beyond the
//! settings' types: keywords a JSON Schema validator ignores, so plugins
//! built before them load and run as before (they declare nothing).
//!
//! * `"x-buzz-state": true` on a setting: the setting defines what the
//!   stage's state means (`count_by`'s `field`, a CSV source's `path`).
//!   Changing it resets the state instead of carrying it over.
//! * `"x-buzz-output": {"fields": ["{field}", "count"], "input": false}` at
//!   the schema's top: the fields of each record a source or transform
//!   emits; `{name}` is the value of setting `name`; `"input": true` means
//!   the input record's fields are passed on too.
//! * `"x-buzz-reads": true` on a chart setting: the setting names a field
//!   the chart reads from each record; `{"except": ["$index"]}` lists
//!   values that name no field.

use std::collections::BTreeSet;

use serde_json::{Map, Value as Json};

use super::StageSpec;

pub const STATE: &str = "x-buzz-state";
pub const OUTPUT: &str = "x-buzz-output";
pub const READS: &str = "x-buzz-reads";

impl StageSpec {
    fn schema(&self) -> Option<&Json> {
        self.plugin.stage(&self.type_name).map(|info| &info.settings)
    }

    /// The setting's value as the stage sees it: as written, else its default.
    pub fn effective(&self, setting: &str) -> Option<&Json> {
        self.settings.get(setting).or_else(|| property(self.schema()?, setting)?.get("default"))
    }

    /// The values of the settings that define what the stage's state means
    /// (`None` if it declares none). Saved with the state, so a state is
    /// never read under other such settings.
    pub fn meaning(&self) -> Option<Json> {
        let schema = self.schema()?;
        let names = properties(schema).filter(|(_, p)| p.get(STATE) == Some(&Json::Bool(true)));
        let meaning: Map<String, Json> =
            names.map(|(name, _)| (name.clone(), self.effective(name).cloned().unwrap_or(Json::Null))).collect();
        (!meaning.is_empty()).then_some(Json::Object(meaning))
    }

    /// The fields of each record this stage emits, given the fields of its
    /// input; `None` when it does not say (or its input is unknown).
    pub fn output_fields(&self, input: Option<&BTreeSet<String>>) -> Option<BTreeSet<String>> {
        let output = self.schema()?.get(OUTPUT)?;
        let mut fields: BTreeSet<String> = match output.get("input") {
            Some(Json::Bool(true)) => input?.clone(),
            _ => BTreeSet::new(),
        };
        for template in output.get("fields")?.as_array()?.iter().filter_map(Json::as_str) {
            fields.insert(self.fill(template)?);
        }
        Some(fields)
    }

    /// The settings that name a field this stage reads, with that field.
    pub fn read_fields(&self) -> Vec<(&str, String)> {
        let Some(schema) = self.schema() else { return Vec::new() };
        properties(schema)
            .filter_map(|(name, p)| {
                let reads = p.get(READS)?;
                let field = self.effective(name)?.as_str()?;
                let except = reads.get("except").and_then(Json::as_array);
                let no_field = except.is_some_and(|e| e.iter().any(|v| v.as_str() == Some(field)));
                (reads != &Json::Bool(false) && !no_field).then(|| (name.as_str(), field.to_string()))
            })
            .collect()
    }

    /// `"{field}"` -> the value of setting `field` (a string).
    fn fill(&self, template: &str) -> Option<String> {
        match template.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
            Some(setting) => self.effective(setting)?.as_str().map(str::to_string),
            None => Some(template.to_string()),
        }
    }
}

/// What changed among the state-defining settings, e.g. `field "author" ->
/// "message"`; empty when the state still means the same.
pub fn meaning_changes(old: Option<&Json>, new: Option<&Json>) -> Vec<String> {
    let empty = Map::new();
    let as_map = |m: Option<&Json>| m.and_then(Json::as_object).unwrap_or(&empty).clone();
    let (old, new) = (as_map(old), as_map(new));
    let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    names
        .into_iter()
        .filter_map(|name| {
            let (a, b) = (old.get(name).unwrap_or(&Json::Null), new.get(name).unwrap_or(&Json::Null));
            (a != b).then(|| format!("{name} {a} -> {b}"))
        })
        .collect()
}

fn properties(schema: &Json) -> impl Iterator<Item = (&String, &Json)> {
    schema.get("properties").and_then(Json::as_object).into_iter().flatten()
}

fn property<'a>(schema: &'a Json, name: &str) -> Option<&'a Json> {
    schema.get("properties")?.get(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_changed_state_settings_are_named() {
        let old = json!({"field": "author"});
        assert!(meaning_changes(Some(&old), Some(&old)).is_empty());
        assert_eq!(
            meaning_changes(Some(&old), Some(&json!({"field": "message"}))),
            ["field \"author\" -> \"message\""]
        );
        assert!(meaning_changes(None, None).is_empty());
    }
}
