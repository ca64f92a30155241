//! Checks a stage's settings table against the JSON Schema its plugin (or
//! the runner, for transports) declares, and turns every violation into a
//! sentence at the right `file:line:col`.

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value as Json;

use super::diagnostics::{Diagnostic, Origin, SourceFile};
use super::document::{Node, Table, Value};
use super::suggest::did_you_mean;

/// What is being checked, for messages: `transform` and `stall_detection`.
pub struct Subject<'a> {
    pub section: &'a str,
    pub stage: &'a str,
    /// Where the table itself is (for missing settings).
    pub origin: &'a Origin,
    /// Settings of the same table that the runner takes (a chart's
    /// `output`, `fps`...): named with the stage's own in errors.
    pub runner_keys: &'a [&'a str],
}

/// Converts loosely typed values (`--set`, `${VAR}`) to the type their
/// setting expects, then validates. Returns the settings as JSON.
pub fn check(
    file: &SourceFile,
    subject: &Subject<'_>,
    table: &mut Table,
    schema: &Json,
) -> Result<Json, Vec<Diagnostic>> {
    coerce_loose(table, schema);
    let instance = table.to_json();
    let validator = jsonschema::validator_for(schema).map_err(|e| {
        vec![file.error(
            subject.origin,
            format!("the plugin declares an invalid settings schema for {} {}: {e}", subject.section, subject.stage),
        )]
    })?;
    let errors: Vec<Diagnostic> =
        validator.iter_errors(&instance).flat_map(|e| describe(file, subject, table, schema, &e)).collect();
    if errors.is_empty() { Ok(instance) } else { Err(errors) }
}

fn describe(
    file: &SourceFile,
    subject: &Subject<'_>,
    table: &Table,
    schema: &Json,
    error: &jsonschema::ValidationError<'_>,
) -> Vec<Diagnostic> {
    let pointer = error.instance_path.as_str();
    let path: Vec<&str> = pointer.split('/').skip(1).collect();
    let dotted = std::iter::once(subject.section).chain(path.iter().copied()).collect::<Vec<_>>().join(".");
    let node = find(table, &path);
    let here = node.map_or(subject.origin, |n| &n.origin);
    let found = || match node {
        // The type of a secret, never its value.
        Some(node) if super::secrets::is_secret(&dotted) => node.type_name().to_string(),
        Some(node) => describe_value(node),
        None => String::new(),
    };
    let message = match &error.kind {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let parent = if path.is_empty() { Some(table) } else { node.and_then(Node::as_table) };
            let mut known = property_names(schema, &path);
            if path.is_empty() {
                known.extend(subject.runner_keys.iter().map(|k| k.to_string()));
            }
            return unexpected
                .iter()
                .map(|key| {
                    let origin = parent.and_then(|t| t.get(key)).map_or(subject.origin, |e| &e.key_origin);
                    let hint = did_you_mean(key, known.iter().map(String::as_str));
                    let list = if hint.is_empty() && !known.is_empty() {
                        format!(" (its settings are: {})", known.join(", "))
                    } else {
                        String::new()
                    };
                    file.error(
                        origin,
                        format!(
                            "unknown setting `{dotted}.{key}` for {} {}{hint}{list}",
                            subject.section, subject.stage
                        ),
                    )
                })
                .collect();
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            let what = property_schema(schema, &[name])
                .and_then(|p| p.get("description"))
                .and_then(Json::as_str)
                .map(|d| format!(" ({})", d.trim_end_matches('.')))
                .unwrap_or_default();
            format!("missing setting `{dotted}.{name}` for {} {}{what}", subject.section, subject.stage)
        }
        ValidationErrorKind::Type { kind } => {
            format!("`{dotted}` must be {}, found {}", type_words(kind), found())
        }
        ValidationErrorKind::Minimum { limit } => format!("`{dotted}` must be at least {limit}, found {}", found()),
        ValidationErrorKind::Maximum { limit } => format!("`{dotted}` must be at most {limit}, found {}", found()),
        ValidationErrorKind::ExclusiveMinimum { limit } => {
            format!("`{dotted}` must be more than {limit}, found {}", found())
        }
        ValidationErrorKind::ExclusiveMaximum { limit } => {
            format!("`{dotted}` must be less than {limit}, found {}", found())
        }
        ValidationErrorKind::Enum { options } => {
            let options = options.as_array().cloned().unwrap_or_default();
            one_of(&dotted, &options, node, &found())
        }
        ValidationErrorKind::MinItems { limit } => format!("`{dotted}` must hold at least {limit} item(s)"),
        ValidationErrorKind::MinLength { limit } => format!("`{dotted}` must be at least {limit} character(s) long"),
        ValidationErrorKind::OneOfNotValid { .. } | ValidationErrorKind::AnyOf { .. } => {
            match choices(schema, property_schema(schema, &path)) {
                options if options.is_empty() => format!("`{dotted}`: {error}"),
                options => one_of(&dotted, &options, node, &found()),
            }
        }
        _ => format!("`{dotted}`: {error}"),
    };
    vec![file.error(here, message)]
}

/// "`x` must be one of "a", "b", found ...", with the closest value.
fn one_of(dotted: &str, options: &[Json], node: Option<&Node>, found: &str) -> String {
    let options: Vec<String> = options.iter().map(Json::to_string).collect();
    let hint = node
        .and_then(Node::as_str)
        .map(|s| did_you_mean(&format!("\"{s}\""), options.iter().map(String::as_str)))
        .unwrap_or_default();
    format!("`{dotted}` must be one of {}, found {found}{hint}", options.join(", "))
}

/// The values a setting may take when its schema is a choice of constants
/// (an enum with a description per value becomes a `oneOf` of `const`s);
/// empty when it is not.
fn choices(root: &Json, schema: Option<&Json>) -> Vec<Json> {
    let Some(schema) = schema.map(|s| resolve(root, s)) else { return Vec::new() };
    if let Some(value) = schema.get("const") {
        return vec![value.clone()];
    }
    if let Some(values) = schema.get("enum").and_then(Json::as_array) {
        return values.iter().filter(|v| !v.is_null()).cloned().collect();
    }
    let alternatives = schema.get("oneOf").or_else(|| schema.get("anyOf")).and_then(Json::as_array);
    let mut all = Vec::new();
    for alternative in alternatives.into_iter().flatten() {
        let alternative = resolve(root, alternative);
        if alternative.get("type").and_then(Json::as_str) == Some("null") {
            continue;
        }
        let values = choices(root, Some(alternative));
        if values.is_empty() {
            return Vec::new();
        }
        all.extend(values);
    }
    all
}

fn describe_value(node: &Node) -> String {
    match &node.value {
        Value::String(s) => format!("{} ({s:?})", node.type_name()),
        Value::Integer(i) => format!("{i}"),
        Value::Float(f) => format!("{f}"),
        Value::Boolean(b) => format!("{b}"),
        _ => node.type_name().to_string(),
    }
}

fn type_words(kind: &TypeKind) -> String {
    let word = |t: &str| match t {
        "integer" => "an integer".to_string(),
        "number" => "a number".to_string(),
        "string" => "a string".to_string(),
        "boolean" => "true or false".to_string(),
        "array" => "an array".to_string(),
        "object" => "a table".to_string(),
        "null" => "absent".to_string(),
        other => other.to_string(),
    };
    match kind {
        TypeKind::Single(t) => word(&t.to_string()),
        TypeKind::Multiple(set) => {
            set.iter().map(|t| word(&t.to_string())).filter(|w| w != "absent").collect::<Vec<_>>().join(" or ")
        }
    }
}

fn find<'a>(table: &'a Table, path: &[&str]) -> Option<&'a Node> {
    let (first, rest) = path.split_first()?;
    let node = &table.get(first)?.node;
    if rest.is_empty() {
        return Some(node);
    }
    match &node.value {
        Value::Table(t) => find(t, rest),
        Value::Array(items) => {
            let i: usize = rest[0].parse().ok()?;
            let item = items.get(i)?;
            if rest.len() == 1 { Some(item) } else { item.as_table().and_then(|t| find(t, &rest[1..])) }
        }
        _ => None,
    }
}

/// Follows a local `$ref` (schemars puts shared definitions in `$defs`).
fn resolve<'a>(root: &'a Json, schema: &'a Json) -> &'a Json {
    match schema.get("$ref").and_then(Json::as_str).and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => root.pointer(pointer).unwrap_or(schema),
        None => schema,
    }
}

/// The schema of the setting at `path`, if the schema says: a named
/// property, or an entry of a map (`additionalProperties`, as librdkafka's
/// `properties`).
fn property_schema<'a>(root: &'a Json, path: &[&str]) -> Option<&'a Json> {
    let mut schema = resolve(root, root);
    for key in path {
        let named = schema.get("properties").and_then(|p| p.get(*key));
        schema = resolve(root, named.or_else(|| schema.get("additionalProperties").filter(|s| s.is_object()))?);
    }
    Some(schema)
}

fn property_names(root: &Json, path: &[&str]) -> Vec<String> {
    property_schema(root, path)
        .and_then(|s| s.get("properties"))
        .and_then(Json::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// The JSON type a setting expects, ignoring "null" (optional settings).
fn expected_type<'a>(root: &'a Json, path: &[&str]) -> Option<&'a str> {
    let schema = property_schema(root, path)?;
    match schema.get("type")? {
        Json::String(t) => Some(t),
        Json::Array(types) => types.iter().filter_map(Json::as_str).find(|t| *t != "null"),
        _ => None,
    }
}

fn coerce_loose(table: &mut Table, schema: &Json) {
    coerce_loose_at(table, schema, &mut Vec::new());
}

/// [`coerce_loose`] for the settings of `table`, found at `path`, and the
/// tables within it (`--set transport.properties."linger.ms"=5`).
fn coerce_loose_at(table: &mut Table, schema: &Json, path: &mut Vec<String>) {
    for entry in &mut table.entries {
        path.push(entry.key.clone());
        if let Value::Table(inner) = &mut entry.node.value {
            coerce_loose_at(inner, schema, path);
        } else if entry.node.loose {
            let keys: Vec<&str> = path.iter().map(String::as_str).collect();
            if let Some(expected) = expected_type(schema, &keys) {
                coerce(&mut entry.node, expected);
            }
        }
        path.pop();
    }
}

/// Reads text as the expected type (`"5000"` for an integer setting), or a
/// scalar as text for a string setting; leaves anything else for the
/// validator to report.
fn coerce(node: &mut Node, expected: &str) {
    let converted = match (&node.value, expected) {
        (Value::String(s), "integer") => s.trim().parse().ok().map(Value::Integer),
        (Value::String(s), "number") => s.trim().parse().ok().map(Value::Float),
        (Value::String(s), "boolean") => s.trim().parse().ok().map(Value::Boolean),
        (Value::Integer(_) | Value::Float(_) | Value::Boolean(_), "string") => {
            node.as_text().map(|text| Value::String(text.into_owned()))
        }
        _ => None,
    };
    if let Some(value) = converted {
        node.value = value;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::document::parse;

    fn schema() -> Json {
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["path"],
            "properties": {
                "path": {"type": "string", "description": "The CSV file to replay."},
                "window": {"type": "integer", "minimum": 2},
                "threshold": {"type": "number"},
                "sort": {"$ref": "#/$defs/Sort"},
                "count": {"type": ["integer", "null"]}
            },
            "$defs": {"Sort": {"type": "string", "enum": ["none", "value", "category"]}}
        })
    }

    fn run(text: &str) -> Result<Json, Vec<String>> {
        let file = SourceFile { path: "p.toml".into(), text: text.into() };
        let mut root = parse(&file).unwrap();
        let mut table = root.remove("transform").unwrap().node.value;
        let Value::Table(table) = &mut table else { panic!() };
        let origin = Origin::File(0..0);
        let subject = Subject { section: "transform", stage: "stall_detection", origin: &origin, runner_keys: &[] };
        check(&file, &subject, table, &schema()).map_err(|ds| ds.iter().map(|d| d.to_string()).collect())
    }

    #[test]
    fn valid_settings_come_back_as_json() {
        assert_eq!(run("[transform]\npath = \"a\"\nwindow = 3\n").unwrap(), json!({"path": "a", "window": 3}));
    }

    #[test]
    fn each_violation_points_at_its_line_with_a_sentence() {
        let errors = run("[transform]\npath = \"a\"\nwindw = 3\nthreshold = \"high\"\nwindow = 1\nsort = \"valu\"\n")
            .unwrap_err();
        assert!(
            errors.contains(
                &"p.toml:3:1: unknown setting `transform.windw` for transform stall_detection; did you mean `window`?"
                    .to_string()
            ),
            "{errors:#?}"
        );
        assert!(
            errors.contains(
                &"p.toml:4:13: `transform.threshold` must be a number, found a string (\"high\")".to_string()
            ),
            "{errors:#?}"
        );
        assert!(
            errors.contains(&"p.toml:5:10: `transform.window` must be at least 2, found 1".to_string()),
            "{errors:#?}"
        );
        assert!(errors.iter().any(|e| e.starts_with("p.toml:6:8: `transform.sort` must be one of \"none\", \"value\", \"category\"")), "{errors:#?}");
    }

    #[test]
    fn a_missing_required_setting_is_described() {
        let errors = run("[transform]\nwindow = 3\n").unwrap_err();
        assert_eq!(
            errors,
            vec!["p.toml:1:1: missing setting `transform.path` for transform stall_detection (The CSV file to replay)"]
        );
    }

    #[test]
    fn loose_values_are_converted_to_the_expected_type() {
        let file = SourceFile { path: "p.toml".into(), text: "[t]\nwindow = \"5\"\n".into() };
        let mut root = parse(&file).unwrap();
        let Value::Table(t) = &mut root.get_mut("t").unwrap().node.value else { panic!() };
        t.get_mut("window").unwrap().node.loose = true;
        t.set("path", Node { loose: true, ..Node::new(Value::Integer(7), Origin::Default) });
        let origin = Origin::Default;
        let subject = Subject { section: "t", stage: "s", origin: &origin, runner_keys: &[] };
        assert_eq!(check(&file, &subject, t, &schema()).unwrap(), json!({"window": 5, "path": "7"}));
    }

    #[test]
    fn loose_values_in_a_map_take_the_type_of_its_entries() {
        // `--set transport.properties."linger.ms"=5`: librdkafka's settings are text.
        let text = "[t]\nproperties = { \"linger.ms\" = 5, \"acks\" = 1 }\n";
        let file = SourceFile { path: "p.toml".into(), text: text.into() };
        let mut root = parse(&file).unwrap();
        let Value::Table(t) = &mut root.get_mut("t").unwrap().node.value else { panic!() };
        let Value::Table(properties) = &mut t.get_mut("properties").unwrap().node.value else { panic!() };
        properties.get_mut("linger.ms").unwrap().node.loose = true;
        let map = json!({"properties": {"properties": {"type": "object", "additionalProperties": {"type": "string"}}}});
        let origin = Origin::Default;
        let subject = Subject { section: "t", stage: "s", origin: &origin, runner_keys: &[] };
        // The file's own integer is still refused: only loose values are read as text.
        let errors = check(&file, &subject, t, &map).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].message.contains("t.properties.acks"), "{}", errors[0].message);
        let Value::Table(properties) = &mut t.get_mut("properties").unwrap().node.value else { panic!() };
        properties.entries.retain(|e| e.key != "acks");
        assert_eq!(check(&file, &subject, t, &map).unwrap(), json!({"properties": {"linger.ms": "5"}}));
    }
}
