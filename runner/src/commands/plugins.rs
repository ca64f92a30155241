//! `buzz plugins`: what plugins were found, which ABI each was built for,
//! and every stage's settings with type and default.

use serde_json::{Value as Json, json};

use crate::cli::PluginsArgs;
use crate::config::declared;
use crate::plugin_host::{Catalog, default_dirs};

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

fn resolve<'a>(root: &'a Json, schema: &'a Json) -> &'a Json {
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
    let mut dirs = args.plugins_dir.clone();
    dirs.extend(default_dirs());
    let catalog = Catalog::discover(dirs);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&as_json(&catalog)).expect("JSON encodes"));
    } else {
        print!("{}", as_text(&catalog));
    }
    0
}

/// Where each kind of stage goes in a pipeline file.
const STAGE_TABLES: &str = "a pipeline file names a source in [source], and a transform and a chart in [transform] and [chart], or one of each per branch in [branches.NAME.transform] and [branches.NAME.chart] (every branch gets every record)";

fn as_json(catalog: &Catalog) -> Json {
    json!({
        "abi_version": buzz_sdk::abi::ABI_VERSION,
        "searched": catalog.dirs,
        "stage_tables": STAGE_TABLES,
        "plugins": catalog.plugins.iter().map(|p| json!({
            "name": p.name,
            "version": p.version,
            "abi_version": p.abi_version,
            "sdk_version": p.sdk_version,
            "path": p.path,
            "stages": p.stages.iter().map(|s| json!({
                "type": s.type_name,
                "kind": s.kind,
                "description": s.description,
                "settings": s.settings,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "refused": catalog.refused.iter().map(|r| json!({"path": r.path, "reason": r.error.to_string()})).collect::<Vec<_>>(),
    })
}

fn as_text(catalog: &Catalog) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "runner speaks plugin ABI {}; searched: {}", buzz_sdk::abi::ABI_VERSION, catalog.searched());
    let _ = writeln!(out, "{STAGE_TABLES}");
    if catalog.plugins.is_empty() {
        let _ = writeln!(
            out,
            "no plugins found (build them with `cargo build --workspace`, install them with `scripts/install`, or set BUZZ_PLUGIN_PATH)"
        );
    }
    for plugin in &catalog.plugins {
        let _ = writeln!(
            out,
            "\nplugin {} {} (ABI {}, sdk {}) {}",
            plugin.name,
            plugin.version,
            plugin.abi_version,
            plugin.sdk_version,
            plugin.path.display()
        );
        for stage in &plugin.stages {
            let _ = writeln!(out, "  {} {}: {}", stage.kind, stage.type_name, stage.description);
            for s in settings_of(&stage.settings) {
                let default = match (&s.default, s.required) {
                    (_, true) => "required".to_string(),
                    (Some(d), _) => format!("default {d}"),
                    (None, _) => "optional".to_string(),
                };
                let resets = if s.defines_state { " Changing it resets the state." } else { "" };
                let _ =
                    writeln!(out, "    {:<14} {:<22} {:<18} {}{resets}", s.name, s.type_name, default, s.description);
            }
            if let Some(fields) = stage.settings.get(declared::OUTPUT).and_then(|o| o.get("fields")) {
                let input = stage.settings[declared::OUTPUT]["input"] == Json::Bool(true);
                let _ = writeln!(out, "    outputs {}{fields}", if input { "its input's fields and " } else { "" });
            }
        }
    }
    for refused in &catalog.refused {
        let _ = writeln!(out, "\nrefused: {refused}");
    }
    out
}
