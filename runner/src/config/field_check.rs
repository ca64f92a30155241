//! A chart that reads a field its transform never outputs would refuse
//! every record (each one dead-lettered, the chart frozen): such a pipeline
//! is refused where the chart names the field, as bad TOML is.

use std::collections::BTreeSet;

use super::StageSpec;
use super::diagnostics::{Diagnostic, SourceFile};

/// One diagnostic per chart setting that names a field the transform does
/// not output. Says nothing when the transform (or, for a transform that
/// passes its input on, the source) does not declare its output.
pub fn check(file: &SourceFile, source: &StageSpec, transform: &StageSpec, chart: &StageSpec) -> Vec<Diagnostic> {
    let Some(output) = transform.output_fields(source.output_fields(None).as_ref()) else { return Vec::new() };
    chart
        .read_fields()
        .into_iter()
        .filter(|(_, field)| !output.contains(field))
        .map(|(setting, field)| {
            let message = format!(
                "the chart reads field {field:?}, but transform {} outputs only {}; \
                 name one of those, or change the transform",
                transform.type_name,
                quoted(&output)
            );
            chart.error(file, Some(setting), message)
        })
        .collect()
}

fn quoted(fields: &BTreeSet<String>) -> String {
    if fields.is_empty() {
        return "no fields".into();
    }
    fields.iter().map(|f| format!("{f:?}")).collect::<Vec<_>>().join(", ")
}
