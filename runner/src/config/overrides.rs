//! `--set key.path=value`: change any setting for one run.

use super::diagnostics::{Diagnostic, Location, Origin};
use super::document::{Entry, Node, Table, Value, parse_override_value};

/// One parsed `--set` argument.
#[derive(Debug, Clone)]
pub struct Override {
    pub arg: String,
    pub path: Vec<String>,
    pub value: String,
}

impl Override {
    pub fn parse(arg: &str) -> Result<Override, Diagnostic> {
        let error =
            |message: &str| Diagnostic { location: Location::Override(arg.to_string()), message: message.to_string() };
        let (path, value) =
            arg.split_once('=').ok_or_else(|| error("expected key.path=value, such as source.interval_ms=0"))?;
        let path: Vec<String> = path.trim().split('.').map(|s| s.trim().to_string()).collect();
        if path.iter().any(String::is_empty) {
            return Err(error("the key path has an empty part; write it like chart.title=..."));
        }
        Ok(Override { arg: arg.to_string(), path, value: value.to_string() })
    }
}

/// Applies the overrides to the document, creating tables as needed.
pub fn apply(root: &mut Table, overrides: &[Override]) -> Result<(), Diagnostic> {
    for o in overrides {
        let node = parse_override_value(&o.value, &o.arg);
        let mut table = &mut *root;
        let (last, parents) = o.path.split_last().expect("non-empty path");
        for key in parents {
            if table.get(key).is_none() {
                table.entries.push(Entry {
                    key: key.clone(),
                    key_origin: Origin::Override(o.arg.clone()),
                    node: Node::new(Value::Table(Table::default()), Origin::Override(o.arg.clone())),
                });
            }
            let entry = table.get_mut(key).expect("just ensured");
            let type_name = entry.node.type_name();
            table = match &mut entry.node.value {
                Value::Table(t) => t,
                _ => {
                    return Err(Diagnostic {
                        location: Location::Override(o.arg.clone()),
                        message: format!("`{key}` is {}, not a table, so it has no settings", type_name),
                    });
                }
            };
        }
        table.set(last, node);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_nested_values_and_replaces_existing_ones() {
        let mut root = Table::default();
        let set = |args: &[&str], root: &mut Table| {
            let overrides: Vec<_> = args.iter().map(|a| Override::parse(a).unwrap()).collect();
            apply(root, &overrides)
        };
        set(&["source.interval_ms=0", "chart.title=My Chart"], &mut root).unwrap();
        set(&["source.interval_ms=10"], &mut root).unwrap();
        let source = root.get("source").unwrap().node.as_table().unwrap();
        assert_eq!(source.get("interval_ms").unwrap().node.value, Value::Integer(10));
        let chart = root.get("chart").unwrap().node.as_table().unwrap();
        assert_eq!(chart.get("title").unwrap().node.value, Value::String("My Chart".into()));
        assert!(set(&["source.interval_ms.x=1"], &mut root).is_err());
    }

    #[test]
    fn malformed_arguments_are_refused() {
        assert!(Override::parse("source.interval_ms").is_err());
        assert!(Override::parse("source..x=1").is_err());
    }
}
