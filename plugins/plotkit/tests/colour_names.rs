//! Every chart plugin's colour settings accept exactly the same colours,
//! spelt the same ways, and say so in their settings schemas.

use buzz_plugin_charts::{BarChart, LineChart};
use buzz_plugin_quakes::{Histogram, Scatter};
use buzz_sdk::StageError;
use buzz_sdk::testing::TestStage;
use plotkit::color::NAMES;
use serde_json::{Value, json};

type Make = fn(Value) -> Result<TestStage, StageError>;

/// Each chart with its colour settings and what else it needs to start.
fn charts() -> [(&'static str, Make, &'static [&'static str], Value); 4] {
    [
        ("bar_chart", TestStage::chart::<BarChart>, &["color", "background"], json!({})),
        ("line_chart", TestStage::chart::<LineChart>, &["line_color", "marker_color"], json!({})),
        ("histogram", TestStage::chart::<Histogram>, &["color", "background"], json!({"field": "magnitude"})),
        ("scatter", TestStage::chart::<Scatter>, &["color", "background"], json!({"x": "lon", "y": "lat"})),
    ]
}

fn with(base: &Value, setting: &str, colour: &str) -> Value {
    let mut settings = base.clone();
    settings[setting] = json!(colour);
    settings
}

#[test]
fn plotkit_every_chart_accepts_the_same_colours() {
    let names = NAMES.iter().map(|(name, _)| name.to_string());
    let spellings = ["#1f77b4", "#F00", "Red", " steelblue ", "SKYBLUE"].map(String::from);
    let refused = ["blurple", "#12345", "#ggg", "rgb(1,2,3)", ""];
    for (chart, make, settings, base) in charts() {
        for setting in settings {
            for colour in names.clone().chain(spellings.clone()) {
                let result = make(with(&base, setting, &colour));
                assert!(result.is_ok(), "{chart} {setting} = {colour:?}: {:?}", result.err());
            }
            for colour in refused {
                let err = make(with(&base, setting, colour)).err();
                let err = err.unwrap_or_else(|| panic!("{chart} {setting} = {colour:?} was accepted"));
                assert_eq!(err.setting.as_deref(), Some(*setting), "{chart}: {err}");
            }
        }
    }
}

#[test]
fn plotkit_every_colour_setting_lists_the_names_in_its_schema() {
    let names: Vec<&str> = NAMES.iter().map(|(name, _)| *name).collect();
    for (chart, make, settings, base) in charts() {
        let schema = make(base).unwrap().settings_schema();
        for setting in settings {
            assert_eq!(schema["properties"][setting]["examples"], json!(names), "{chart} {setting}");
        }
    }
}
