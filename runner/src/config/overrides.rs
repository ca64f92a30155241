//! `--set key.path=value`: change any setting for one run. The path is
//! written as TOML writes dotted keys, so a key with dots in it is quoted:
//! `transport.properties."sasl.mechanism"=SCRAM-SHA-256`.

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
        let (path, value) = split_path(arg).map_err(|message| error(&message))?;
        Ok(Override { arg: arg.to_string(), path, value: value.to_string() })
    }
}

/// Splits `a."b.c".'d'=value` into its key path and value. Each part is bare
/// (anything but `.`, `=` and quotes) or quoted as in TOML: `"..."` with
/// `\"` and `\\` escapes, or `'...'` as written. The first `=` outside
/// quotes ends the path.
pub fn split_path(arg: &str) -> Result<(Vec<String>, &str), String> {
    let mut path = Vec::new();
    let mut part = String::new();
    let mut quoted = false;
    let mut chars = arg.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '=' | '.' => {
                let bare = part.trim();
                if !quoted && bare.is_empty() {
                    return Err("the key path has an empty part; write it like chart.title=... \
                                (a key with dots in it goes in quotes: transport.properties.\"sasl.mechanism\"=...)"
                        .into());
                }
                path.push(if quoted { std::mem::take(&mut part) } else { bare.to_string() });
                part.clear();
                quoted = false;
                if c == '=' {
                    return Ok((path, &arg[at + 1..]));
                }
            }
            '"' | '\'' if !quoted && part.trim().is_empty() => {
                part = quoted_key(&mut chars, c)?;
                quoted = true;
            }
            '"' | '\'' => {
                return Err(format!("a quote ({c}) may only start a part of the key path, as in a.\"b.c\"=..."));
            }
            c if quoted && !c.is_whitespace() => {
                return Err(format!("expected `.` or `=` after the quoted key \"{part}\", found `{c}`"));
            }
            _ if quoted => {}
            c => part.push(c),
        }
    }
    Err("expected key.path=value, such as source.interval_ms=0".into())
}

/// The rest of a key quoted with `quote`, up to and past its closing quote.
fn quoted_key(chars: &mut std::str::CharIndices<'_>, quote: char) -> Result<String, String> {
    let mut key = String::new();
    while let Some((_, c)) = chars.next() {
        match c {
            c if c == quote => return Ok(key),
            '\\' if quote == '"' => match chars.next() {
                Some((_, escaped @ ('"' | '\\'))) => key.push(escaped),
                _ => {
                    return Err(
                        "in a \"quoted\" key only \\\" and \\\\ are escapes; use 'single quotes' to write it as is"
                            .into(),
                    );
                }
            },
            c => key.push(c),
        }
    }
    Err(format!("the quoted key {quote}{key} is not closed; write {quote}{key}{quote}"))
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
        for bad in ["a.\"b.c=1", "a.\"b\"c=1", "a.b\"c\"=1", "a.\"b\\x\"=1", "a.\"b.c\""] {
            assert!(Override::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_with_dots_are_quoted_as_in_toml() {
        let path = |arg: &str| Override::parse(arg).map(|o| (o.path, o.value)).unwrap();
        let key = |parts: &[&str], value: &str| (parts.iter().map(|p| p.to_string()).collect(), value.to_string());
        assert_eq!(
            path(r#"transport.properties."sasl.mechanism"=SCRAM-SHA-256"#),
            key(&["transport", "properties", "sasl.mechanism"], "SCRAM-SHA-256")
        );
        assert_eq!(
            path("transport.properties.'ssl.ca.location'=a=b"),
            key(&["transport", "properties", "ssl.ca.location"], "a=b")
        );
        assert_eq!(path(r#" a . "x=y" . "q\"\\" =1"#), key(&["a", "x=y", "q\"\\"], "1"));
        assert_eq!(path("chart.title=A. B"), key(&["chart", "title"], "A. B"));
        assert_eq!(path(r#"a."".b=1"#), key(&["a", "", "b"], "1"));
    }
}
