//! `${VAR}` and `${VAR:-default}` in string values, from the environment.
//! `$${` writes a literal `${`.

use super::diagnostics::{Diagnostic, SourceFile};
use super::document::{Node, Table, Value};

/// Interpolates every string in the table, collecting every problem.
pub fn interpolate_table(
    file: &SourceFile,
    table: &mut Table,
    lookup: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<Diagnostic>,
) {
    for entry in &mut table.entries {
        interpolate_node(file, &mut entry.node, lookup, errors);
    }
}

fn interpolate_node(
    file: &SourceFile,
    node: &mut Node,
    lookup: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<Diagnostic>,
) {
    match &mut node.value {
        Value::String(text) if text.contains('$') => match expand(text, lookup) {
            Ok(Some(expanded)) => {
                *text = expanded;
                node.loose = true;
            }
            Ok(None) => {}
            Err(message) => errors.push(file.error(&node.origin, message)),
        },
        Value::Array(items) => items.iter_mut().for_each(|n| interpolate_node(file, n, lookup, errors)),
        Value::Table(t) => interpolate_table(file, t, lookup, errors),
        _ => {}
    }
}

/// The expanded text, `None` if nothing was interpolated, or what is wrong.
pub fn expand(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Option<String>, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = tail;
            changed = true;
        } else if let Some(tail) = after.strip_prefix("${") {
            let end = tail
                .find('}')
                .ok_or_else(|| format!("unclosed `${{` in {text:?}; write `${{VAR}}` or `$${{` for a literal"))?;
            let expr = &tail[..end];
            let (name, default) = match expr.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (expr, None),
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!(
                    "`${{{expr}}}` is not a variable reference; use `${{NAME}}` or `${{NAME:-default}}`"
                ));
            }
            match (lookup(name), default) {
                (Some(value), _) => out.push_str(&value),
                (None, Some(default)) => out.push_str(default),
                (None, None) => {
                    return Err(format!(
                        "environment variable {name} is not set; set it, or give a default with `${{{name}:-value}}`"
                    ));
                }
            }
            rest = &tail[end + 1..];
            changed = true;
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    Ok(changed.then_some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "BROKERS").then(|| "kafka:9092".to_string())
    }

    #[test]
    fn variables_defaults_and_escapes() {
        assert_eq!(expand("${BROKERS}", &env).unwrap().as_deref(), Some("kafka:9092"));
        assert_eq!(expand("${MISSING:-embedded}", &env).unwrap().as_deref(), Some("embedded"));
        assert_eq!(expand("${BROKERS:-x}/t", &env).unwrap().as_deref(), Some("kafka:9092/t"));
        assert_eq!(expand("cost $5", &env).unwrap(), None);
        assert_eq!(expand("$${BROKERS}", &env).unwrap().as_deref(), Some("${BROKERS}"));
        assert_eq!(expand("${EMPTY_DEFAULT:-}", &env).unwrap().as_deref(), Some(""));
    }

    #[test]
    fn unset_variable_without_default_is_an_error_naming_it() {
        let err = expand("${SMOKER_CSV}", &env).unwrap_err();
        assert!(err.contains("SMOKER_CSV is not set"), "{err}");
        assert!(expand("${oops", &env).unwrap_err().contains("unclosed"));
        assert!(expand("${a b}", &env).unwrap_err().contains("not a variable reference"));
    }
}
