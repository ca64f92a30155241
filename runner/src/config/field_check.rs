//! A stage that reads a field its input never has would refuse every
//! record (each one dead-lettered, the chart a blank grid): such a pipeline
//! is refused where the stage names the field, as bad TOML is. The input's
//! fields are what the stages before declare, or, for a source that cannot
//! (a CSV's columns), the properties of the transport's JSON Schema.

use std::collections::BTreeSet;
use std::path::Path;

use super::StageSpec;
use super::diagnostics::{Diagnostic, SourceFile};
use super::suggest::did_you_mean;

/// The records' fields as the transport's JSON Schema names them.
pub struct SchemaFields<'a> {
    pub path: &'a Path,
    pub fields: BTreeSet<String>,
}

impl<'a> SchemaFields<'a> {
    /// The top-level `properties` of `schema`, if it names any.
    pub fn of(path: &'a Path, schema: &serde_json::Value) -> Option<Self> {
        let properties = schema.get("properties")?.as_object()?;
        Some(SchemaFields { path, fields: properties.keys().cloned().collect() })
    }
}

/// One diagnostic per transform or chart setting that names a field its
/// input does not have (each transform of a chain reads what the one
/// before outputs). Says nothing where the input is not declared.
pub fn check(
    file: &SourceFile,
    source: &StageSpec,
    transforms: &[StageSpec],
    chart: &StageSpec,
    records: Option<&SchemaFields<'_>>,
) -> Vec<Diagnostic> {
    let declared = source.output_fields(None);
    let mut errors = Vec::new();
    let mut input = match (declared, records, transforms.first()) {
        (Some(fields), _, _) => Some(fields),
        (None, Some(schema), Some(first)) => {
            let from = format!("the records (schema {}) have only", schema.path.display());
            errors.extend(unknown_reads(file, first, &schema.fields, &from));
            Some(schema.fields.clone())
        }
        _ => None,
    };
    let stages: Vec<&StageSpec> = transforms.iter().chain(std::iter::once(chart)).collect();
    for pair in stages.windows(2) {
        let (before, stage) = (pair[0], pair[1]);
        input = before.output_fields(input.as_ref());
        if let Some(output) = &input {
            let from = format!("{} {} outputs only", before.label(), before.type_name);
            errors.extend(unknown_reads(file, stage, output, &from));
        }
    }
    errors
}

/// `stage`'s settings that read a field not in `fields`.
fn unknown_reads(file: &SourceFile, stage: &StageSpec, fields: &BTreeSet<String>, from: &str) -> Vec<Diagnostic> {
    stage
        .read_fields()
        .into_iter()
        .filter(|(_, field)| !fields.contains(field))
        .map(|(setting, field)| {
            let hint = did_you_mean(&field, fields.iter().map(String::as_str));
            let message = format!("the {} reads field {field:?}, but {from} {}{hint}", stage.label(), quoted(fields));
            stage.error(file, Some(setting), message)
        })
        .collect()
}

fn quoted(fields: &BTreeSet<String>) -> String {
    if fields.is_empty() {
        return "no fields".into();
    }
    fields.iter().map(|f| format!("{f:?}")).collect::<Vec<_>>().join(", ")
}
