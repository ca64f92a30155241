//! Checks shared by both charts' settings. Each error names its setting so
//! the runner can point at the line in the pipeline file.

use buzz_sdk::StageError;

pub use plotkit::canvas::check_size as size;

/// A record field name must not be empty.
pub fn field(name: &str, value: &str) -> Result<(), StageError> {
    if value.is_empty() {
        Err(StageError::setting(name, "the field name is empty: name a field of the input records"))
    } else {
        Ok(())
    }
}

/// One of a few words, e.g. `sort = "value"`.
pub fn choice<T: Copy>(name: &str, value: &str, choices: &[(&str, T)]) -> Result<T, StageError> {
    choices.iter().find(|(word, _)| *word == value).map(|&(_, choice)| choice).ok_or_else(|| {
        let words: Vec<String> = choices.iter().map(|(word, _)| format!("{word:?}")).collect();
        StageError::setting(name, format!("{value:?} is not one of {}", words.join(", ")))
    })
}

/// `y_min` below `y_max` when both are set.
pub fn y_bounds(y_min: Option<f64>, y_max: Option<f64>) -> Result<(), StageError> {
    match (y_min, y_max) {
        (Some(lo), Some(hi)) if lo >= hi => {
            Err(StageError::setting("y_max", format!("{hi} is not above y_min ({lo})")))
        }
        _ => Ok(()),
    }
}
