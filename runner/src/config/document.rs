//! The pipeline file as a tree of values that remember where they came from,
//! so every later check can point at `file:line:col`.

use serde_json::Value as Json;
use toml::de::{DeTable, DeValue};

use super::diagnostics::{Diagnostic, Origin, SourceFile};

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
    Datetime(String),
    Array(Vec<Node>),
    Table(Table),
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub origin: Origin,
    /// True when the text, not the TOML type, carries the value (a `--set`
    /// argument or an interpolated `"${VAR}"`): such a value is converted to
    /// the type its setting expects.
    pub loose: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_origin: Origin,
    pub node: Node,
}

/// A table in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub entries: Vec<Entry>,
}

impl Table {
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Entry> {
        self.entries.iter_mut().find(|e| e.key == key)
    }

    /// Sets `key`, replacing any earlier value (keeping its key position).
    pub fn set(&mut self, key: &str, node: Node) {
        match self.get_mut(key) {
            Some(entry) => entry.node = node,
            None => self.entries.push(Entry { key: key.to_string(), key_origin: node.origin.clone(), node }),
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<Entry> {
        let i = self.entries.iter().position(|e| e.key == key)?;
        Some(self.entries.remove(i))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.key.as_str())
    }

    /// The table as JSON (for validating against a settings schema).
    pub fn to_json(&self) -> Json {
        Json::Object(self.entries.iter().map(|e| (e.key.clone(), e.node.to_json())).collect())
    }
}

impl Node {
    pub fn new(value: Value, origin: Origin) -> Self {
        Node { value, origin, loose: false }
    }

    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::String(_) => "a string",
            Value::Integer(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Boolean(_) => "a boolean",
            Value::Datetime(_) => "a date-time",
            Value::Array(_) => "an array",
            Value::Table(_) => "a table",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as text: a string, or a loose scalar as it was written
    /// (`--set transport.properties."linger.ms"=5` means the text "5").
    pub fn as_text(&self) -> Option<std::borrow::Cow<'_, str>> {
        match &self.value {
            Value::String(s) => Some(s.into()),
            Value::Integer(i) if self.loose => Some(i.to_string().into()),
            Value::Float(f) if self.loose => Some(f.to_string().into()),
            Value::Boolean(b) if self.loose => Some(b.to_string().into()),
            _ => None,
        }
    }

    pub fn as_table(&self) -> Option<&Table> {
        match &self.value {
            Value::Table(t) => Some(t),
            _ => None,
        }
    }

    pub fn to_json(&self) -> Json {
        match &self.value {
            Value::String(s) | Value::Datetime(s) => Json::String(s.clone()),
            Value::Integer(i) => Json::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
            Value::Boolean(b) => Json::Bool(*b),
            Value::Array(items) => Json::Array(items.iter().map(Node::to_json).collect()),
            Value::Table(t) => t.to_json(),
        }
    }
}

/// Parses TOML text into a spanned tree, or says where the syntax is wrong.
pub fn parse(file: &SourceFile) -> Result<Table, Diagnostic> {
    let root = DeTable::parse(&file.text).map_err(|e| {
        let origin = Origin::File(e.span().unwrap_or(0..0));
        file.error(&origin, format!("invalid TOML: {}", first_line(e.message())))
    })?;
    let span = root.span();
    convert_table(file, root.into_inner(), span)
}

fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or(message).trim()
}

fn convert_table(file: &SourceFile, table: DeTable<'_>, _span: std::ops::Range<usize>) -> Result<Table, Diagnostic> {
    let mut out = Table::default();
    for (key, value) in table {
        let key_origin = Origin::File(key.span());
        let node = convert_value(file, value)?;
        out.entries.push(Entry { key: key.into_inner().into_owned(), key_origin, node });
    }
    Ok(out)
}

/// Parses a `--set` value: TOML if it reads as TOML (`0`, `true`, `"x"`,
/// `[1, 2]`), else the text itself as a string (`localhost:9092`).
pub fn parse_override_value(text: &str, arg: &str) -> Node {
    let origin = Origin::Override(arg.to_string());
    let file = SourceFile { path: "--set".into(), text: text.to_string() };
    let value = match DeValue::parse(text) {
        Ok(parsed) => convert_value(&file, parsed).map(|n| n.value).unwrap_or_else(|_| Value::String(text.to_string())),
        Err(_) => Value::String(text.to_string()),
    };
    let mut node = Node::new(value, origin.clone());
    relabel(&mut node, &origin);
    node
}

/// Marks a node (and its children) as coming from `origin`, loosely typed.
fn relabel(node: &mut Node, origin: &Origin) {
    node.origin = origin.clone();
    node.loose = true;
    match &mut node.value {
        Value::Array(items) => items.iter_mut().for_each(|n| relabel(n, origin)),
        Value::Table(t) => t.entries.iter_mut().for_each(|e| {
            e.key_origin = origin.clone();
            relabel(&mut e.node, origin)
        }),
        _ => {}
    }
}

fn convert_value(file: &SourceFile, value: toml::Spanned<DeValue<'_>>) -> Result<Node, Diagnostic> {
    let span = value.span();
    let origin = Origin::File(span.clone());
    let value = match value.into_inner() {
        DeValue::String(s) => Value::String(s.into_owned()),
        DeValue::Integer(i) => Value::Integer(
            i64::from_str_radix(i.as_str(), i.radix())
                .map_err(|_| file.error(&origin, format!("integer {i} does not fit in 64 bits")))?,
        ),
        DeValue::Float(f) => Value::Float(
            f.as_str().replace('_', "").parse().map_err(|_| file.error(&origin, format!("invalid number {f}")))?,
        ),
        DeValue::Boolean(b) => Value::Boolean(b),
        DeValue::Datetime(d) => Value::Datetime(d.to_string()),
        DeValue::Array(items) => {
            Value::Array(items.into_iter().map(|item| convert_value(file, item)).collect::<Result<_, _>>()?)
        }
        DeValue::Table(t) => Value::Table(convert_table(file, t, span)?),
    };
    Ok(Node::new(value, origin))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> SourceFile {
        SourceFile { path: "p.toml".into(), text: text.into() }
    }

    #[test]
    fn values_keep_their_spans() {
        let f = file("name = \"x\"\n[source]\ninterval_ms = 5\n");
        let table = parse(&f).unwrap();
        let source = table.get("source").unwrap().node.as_table().unwrap();
        let entry = source.get("interval_ms").unwrap();
        assert_eq!(entry.node.value, Value::Integer(5));
        assert_eq!(f.locate(&entry.node.origin).to_string_for_test(), "p.toml:3:15");
        assert_eq!(f.locate(&entry.key_origin).to_string_for_test(), "p.toml:3:1");
    }

    #[test]
    fn syntax_errors_say_where() {
        let f = file("[source]\ntype = \n");
        let err = parse(&f).unwrap_err().to_string();
        assert!(err.starts_with("p.toml:2:"), "{err}");
        assert!(err.contains("invalid TOML"), "{err}");
    }

    #[test]
    fn override_values_read_as_toml_or_text() {
        assert_eq!(parse_override_value("0", "a=0").value, Value::Integer(0));
        assert_eq!(parse_override_value("true", "a=true").value, Value::Boolean(true));
        assert_eq!(parse_override_value("localhost:9092", "b").value, Value::String("localhost:9092".into()));
        assert_eq!(parse_override_value("My Chart", "c").value, Value::String("My Chart".into()));
        assert!(parse_override_value("0", "a=0").loose);
    }

    impl super::super::diagnostics::Location {
        fn to_string_for_test(&self) -> String {
            match self {
                super::super::diagnostics::Location::File { path, line, col } => {
                    format!("{}:{line}:{col}", path.display())
                }
                other => format!("{other:?}"),
            }
        }
    }
}
