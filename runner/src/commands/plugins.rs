//! `buzz plugins`: what plugins were found, which ABI each was built for,
//! and every stage's settings with type and default, wrapped to 80
//! columns; `--kind` keeps one kind of stage, `--colors` lists what the
//! charts' colour and colormap settings accept.

use serde_json::{Value as Json, json};

use super::chart_colors;
use super::text_wrap::wrap;
use crate::cli::{PluginsArgs, StageFilter};
use crate::config::declared;
use crate::config::pipeline_schema::transport_schemas;
use crate::plugin_host::{ABI_VERSION, Catalog, StageKind};

/// One setting of a stage, read from its JSON Schema.
pub struct SettingDoc {
    pub name: String,
    pub type_name: String,
    pub default: Option<Json>,
    pub required: bool,
    pub description: String,
    /// Changing it on a reload resets the stage's state (`x-buzz-state`).
    pub defines_state: bool,
}

/// The settings a schema describes, in declaration order.
pub fn settings_of(schema: &Json) -> Vec<SettingDoc> {
    let required: Vec<&str> =
        schema["required"].as_array().map(|r| r.iter().filter_map(Json::as_str).collect()).unwrap_or_default();
    let Some(properties) = schema["properties"].as_object() else { return Vec::new() };
    properties
        .iter()
        .map(|(name, property)| {
            let resolved = resolve(schema, property);
            SettingDoc {
                name: name.clone(),
                type_name: type_name(resolved),
                default: property.get("default").or_else(|| resolved.get("default")).filter(|d| !d.is_null()).cloned(),
                required: required.contains(&name.as_str()),
                description: property
                    .get("description")
                    .or_else(|| resolved.get("description"))
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .replace('\n', " "),
                defines_state: property.get(declared::STATE) == Some(&Json::Bool(true)),
            }
        })
        .collect()
}

pub(super) fn resolve<'a>(root: &'a Json, schema: &'a Json) -> &'a Json {
    match schema.get("$ref").and_then(Json::as_str).and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => root.pointer(pointer).unwrap_or(schema),
        None => schema,
    }
}

fn type_name(schema: &Json) -> String {
    if let Some(options) = schema.get("enum").and_then(Json::as_array) {
        return options.iter().map(|o| o.to_string()).collect::<Vec<_>>().join(" | ");
    }
    if let Some(variants) = schema.get("oneOf").and_then(Json::as_array) {
        let options: Vec<String> = variants
            .iter()
            .filter_map(|v| v.get("const").or_else(|| v.get("enum").and_then(|e| e.get(0))))
            .map(|c| c.to_string())
            .collect();
        if !options.is_empty() {
            return options.join(" | ");
        }
    }
    match schema.get("type") {
        Some(Json::String(t)) if t == "array" => {
            format!("array of {}", schema.get("items").map_or("values".into(), type_name))
        }
        Some(Json::String(t)) => t.clone(),
        Some(Json::Array(types)) => {
            types.iter().filter_map(Json::as_str).filter(|t| *t != "null").collect::<Vec<_>>().join(" | ")
        }
        _ => "any".into(),
    }
}

pub fn plugins(args: PluginsArgs) -> i32 {
    let catalog = Catalog::search(args.plugins_dir.clone());
    if args.colors {
        let listing = chart_colors::Listing::of(&catalog);
        if args.json {
            println!("{}", serde_json::to_string_pretty(&listing.as_json()).expect("JSON encodes"));
        } else {
            print!("{}", listing.as_text());
        }
    } else if args.json {
        println!("{}", serde_json::to_string_pretty(&as_json(&catalog, args.kind)).expect("JSON encodes"));
    } else {
        print!("{}", as_text(&catalog, args.kind));
    }
    0
}

/// Whether `--kind` keeps a plugin stage of `kind`.
fn keeps(filter: Option<StageFilter>, kind: StageKind) -> bool {
    match filter {
        None => true,
        Some(StageFilter::Source) => kind == StageKind::Source,
        Some(StageFilter::Transform) => kind == StageKind::Transform,
        Some(StageFilter::Chart) => kind == StageKind::Chart,
        Some(StageFilter::Transport) => false,
    }
}

/// The built-in transports `--kind` keeps: (type, settings schema).
fn transports(filter: Option<StageFilter>) -> Vec<(String, Json)> {
    if matches!(filter, None | Some(StageFilter::Transport)) { transport_schemas() } else { Vec::new() }
}

/// Where each kind of stage goes in a pipeline file.
const STAGE_TABLES: &str = "a pipeline file names a source in [source], and a transform and a chart in [transform] and [chart], or one of each per branch in [branches.NAME.transform] and [branches.NAME.chart] (every branch gets every record); several [[transform]] tables make a chain, each feeding the next";

fn as_json(catalog: &Catalog, filter: Option<StageFilter>) -> Json {
    json!({
        "abi_version": ABI_VERSION,
        "searched": catalog.dirs,
        "stage_tables": STAGE_TABLES,
        "plugins": catalog.plugins.iter().filter(|p| p.stages.iter().any(|s| keeps(filter, s.kind))).map(|p| json!({
            "name": p.name,
            "version": p.version,
            "abi_version": p.abi_version,
            "sdk_version": p.sdk_version,
            "path": p.path,
            "stages": p.stages.iter().filter(|s| keeps(filter, s.kind)).map(|s| json!({
                "type": s.type_name,
                "kind": s.kind,
                "description": s.description,
                "settings": s.settings,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "transports": transports(filter).into_iter().map(|(t, settings)| json!({"type": t, "settings": settings})).collect::<Vec<_>>(),
        "refused": catalog.refused.iter().map(|r| json!({"path": r.path, "reason": r.error.to_string()})).collect::<Vec<_>>(),
    })
}

fn as_text(catalog: &Catalog, filter: Option<StageFilter>) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = write!(out, "{}", wrap(&format!("runner speaks plugin ABI {}; searched:", ABI_VERSION), 0, 2));
    for dir in &catalog.dirs {
        out.push_str(&wrap(&dir.display().to_string(), 2, 2));
    }
    out.push_str(&wrap(STAGE_TABLES, 0, 2));
    if catalog.plugins.is_empty() {
        out.push_str(&wrap(
            "no plugins found (build them with `cargo build --workspace`, install them with `scripts/install`, or set BUZZ_PLUGIN_PATH)",
            0,
            2,
        ));
    }
    for plugin in &catalog.plugins {
        let stages: Vec<_> = plugin.stages.iter().filter(|s| keeps(filter, s.kind)).collect();
        if stages.is_empty() {
            continue;
        }
        let header = format!(
            "plugin {} {} (ABI {}, sdk {}) {}",
            plugin.name,
            plugin.version,
            plugin.abi_version,
            plugin.sdk_version,
            plugin.path.display()
        );
        let _ = write!(out, "\n{}", wrap(&header, 0, 2));
        for stage in stages {
            stage_text(&mut out, &format!("{} {}", stage.kind, stage.type_name), &stage.description, &stage.settings);
        }
    }
    let transports = transports(filter);
    if !transports.is_empty() {
        out.push_str("\nbuilt into the runner\n");
    }
    for (type_name, settings) in &transports {
        let description = settings["description"].as_str().unwrap_or_default().replace('\n', " ");
        stage_text(&mut out, &format!("transport {type_name}"), &description, settings);
    }
    for refused in &catalog.refused {
        let _ = write!(out, "\n{}", wrap(&format!("refused: {refused}"), 0, 2));
    }
    out
}

/// A stage's heading and its settings: name, type and default on one line
/// (continued under the type when long), the description below.
fn stage_text(out: &mut String, heading: &str, description: &str, settings: &Json) {
    out.push_str(&wrap(&format!("{heading}: {description}"), 2, 6));
    for s in settings_of(settings) {
        let default = match (&s.default, s.required) {
            (_, true) => "required".to_string(),
            (Some(d), _) => format!("default {d}"),
            (None, _) => "optional".to_string(),
        };
        out.push_str(&wrap(&format!("{:<14} {:<22} {default}", s.name, s.type_name), 4, 19));
        let resets = if s.defines_state { " Changing it resets the state." } else { "" };
        if !s.description.is_empty() || !resets.is_empty() {
            out.push_str(&wrap(&format!("{}{resets}", s.description), 8, 8));
        }
    }
    if let Some(fields) = settings.get(declared::OUTPUT).and_then(|o| o.get("fields")) {
        let input = settings[declared::OUTPUT]["input"] == Json::Bool(true);
        out.push_str(&wrap(&format!("outputs {}{fields}", if input { "its input's fields and " } else { "" }), 4, 8));
    }
}
