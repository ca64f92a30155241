//! `buzz plugins --colors`: the colour names and colormaps chart settings
//! accept, read from the charts' settings schemas: a colour setting lists
//! its names as `examples` (hex colours are valid too), a `colormap`
//! setting its choices as `enum`. Nothing here knows the names itself.

use serde_json::{Value as Json, json};

use super::plugins::resolve;
use super::text_wrap::wrap;
use crate::plugin_host::{Catalog, StageKind};

/// Settings that share one list of names: ("bar_chart", "color"), ...
type Users = Vec<(String, String)>;

#[derive(Default)]
pub struct Listing {
    /// Colour names, and the chart settings that accept them.
    colours: Vec<(Vec<String>, Users)>,
    /// Colormap names, and the chart settings that accept them.
    colormaps: Vec<(Vec<String>, Users)>,
}

impl Listing {
    pub fn of(catalog: &Catalog) -> Listing {
        let mut listing = Listing::default();
        let charts = catalog.plugins.iter().flat_map(|p| &p.stages).filter(|s| s.kind == StageKind::Chart);
        for stage in charts {
            let Some(properties) = stage.settings["properties"].as_object() else { continue };
            for (name, property) in properties {
                let property = resolve(&stage.settings, property);
                let user = (stage.type_name.clone(), name.clone());
                if let Some(names) = strings(property.get("examples")) {
                    add(&mut listing.colours, names, user);
                } else if name == "colormap"
                    && let Some(names) = strings(property.get("enum"))
                {
                    add(&mut listing.colormaps, names, user);
                }
            }
        }
        listing
    }

    pub fn as_text(&self) -> String {
        let mut out = String::new();
        if self.colours.is_empty() && self.colormaps.is_empty() {
            out.push_str(&wrap("no chart plugin found that lists its colours", 0, 2));
        }
        for (names, users) in &self.colours {
            let intro = format!("Colours: #rgb, #rrggbb or one of these names (any case), for {}:", users_text(users));
            out.push_str(&wrap(&intro, 0, 2));
            out.push_str(&wrap(&names.join(" "), 2, 2));
        }
        for (names, users) in &self.colormaps {
            out.push_str(&wrap(&format!("Colormaps, for {}:", users_text(users)), 0, 2));
            out.push_str(&wrap(&names.join(" "), 2, 2));
        }
        out
    }

    pub fn as_json(&self) -> Json {
        let groups = |groups: &[(Vec<String>, Users)]| -> Vec<Json> {
            groups
                .iter()
                .map(|(names, users)| {
                    let settings: Vec<Json> =
                        users.iter().map(|(stage, setting)| json!({"type": stage, "setting": setting})).collect();
                    json!({"names": names, "settings": settings})
                })
                .collect()
        };
        json!({"colors": groups(&self.colours), "colormaps": groups(&self.colormaps)})
    }
}

fn strings(list: Option<&Json>) -> Option<Vec<String>> {
    let names: Vec<String> = list?.as_array()?.iter().filter_map(Json::as_str).map(str::to_string).collect();
    (!names.is_empty()).then_some(names)
}

/// Adds `user` to the group with exactly these names, or a new group.
fn add(groups: &mut Vec<(Vec<String>, Users)>, names: Vec<String>, user: (String, String)) {
    match groups.iter_mut().find(|(known, _)| *known == names) {
        Some((_, users)) => users.push(user),
        None => groups.push((names, vec![user])),
    }
}

/// "bar_chart (color, background), scatter (color)".
fn users_text(users: &Users) -> String {
    let mut stages: Vec<(&str, Vec<&str>)> = Vec::new();
    for (stage, setting) in users {
        match stages.iter_mut().find(|(s, _)| s == stage) {
            Some((_, settings)) => settings.push(setting),
            None => stages.push((stage, vec![setting])),
        }
    }
    let parts: Vec<String> =
        stages.iter().map(|(stage, settings)| format!("{stage} ({})", settings.join(", "))).collect();
    parts.join(", ")
}
